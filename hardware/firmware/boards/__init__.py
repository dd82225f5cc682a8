# One module per hardware revision of the reader controller board; app reads board.txt.

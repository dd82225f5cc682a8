"""Putting a roster back together from its pages.

The cloud publishes a kiosk's roster as retained pages ``roster/0 .. roster/{pages-1}`` of one
version, each under the broker's packet limit (docs/protocol.md, "roster"). Pages arrive in any
order, and a page of an older version may still be retained while the new one is being
published; a roster is whole only when every page of one version is in. Each page is verified
(``gateway.cloud_trust``) before it is added here.
"""

from __future__ import annotations

from protocol import Roster


class RosterAssembler:
    """Collects verified pages; ``add`` returns the whole roster once its last page arrives."""

    def __init__(self) -> None:
        self.held: int | None = None
        """The newest version the kiosk is known to hold (set by the caller after applying)."""
        self._version: int | None = None
        self._pages: dict[int, Roster] = {}

    def is_stale(self, page: Roster) -> bool:
        """A page of a version older than the one held: nothing to do with it."""
        return self.held is not None and page.version < self.held

    def add(self, page: Roster) -> Roster | None:
        """Add a page; the whole roster (every page's producers, in page order) when complete.

        Raises:
            ValueError: the page disagrees with pages of the same version already in (a
                different page count): the version is started over.
        """
        if self._version is None or page.version > self._version:
            self._version, self._pages = page.version, {}
        elif page.version < self._version:
            return None  # an older version still retained on a page number: superseded
        first = next(iter(self._pages.values()), None)
        if first is not None and first.pages != page.pages:
            self._version, self._pages = None, {}
            raise ValueError(f"roster version {page.version} came as {first.pages} and as "
                             f"{page.pages} pages")
        self._pages[page.page] = page
        if len(self._pages) < page.pages:
            return None
        pages = [self._pages[n] for n in range(page.pages)]
        self._version, self._pages = None, {}
        producers = [entry for p in pages for entry in p.producers]
        # The pages were each verified; the whole is for the registry, not for re-verifying.
        return pages[0].model_copy(update={"producers": producers, "page": 0, "pages": 1})

"""The strip camera: fixed exposure, gain and white balance; checked frames and bursts."""

from device_drivers.camera.base import Camera, Frame, average, frame_problem
from device_drivers.camera.opencv_backend import OpenCVCamera
from device_drivers.camera.picamera_backend import PiCamera
from device_drivers.camera.simulated import SimulatedCamera

__all__ = ["Camera", "Frame", "OpenCVCamera", "PiCamera", "SimulatedCamera", "average",
           "frame_problem"]

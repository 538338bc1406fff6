"""Videos and sounds: frame sampling against decoding every frame, indexing, sound windows.

python -m bench.media            # about 3 minutes on two cores
python -m bench.media --quick
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from bench.common import Section, report, stopwatch
from mediasearch.core.library import Library
from mediasearch.core.media.video import sample_video

MODEL = "ViT-B-32:random"  # same cost as the trained weights; no download
MIN_SIDE = 224
SCENE_S = 5.0  # a new "shot" this often, as in a home video


def draw_video(path: Path, seconds: float, size: tuple[int, int], fps: int, seed: int) -> Path:
    """A phone-like clip: textured shots of moving blobs, cut every SCENE_S seconds."""
    if path.is_file():
        return path  # drawn by an earlier run with --work
    rng = np.random.default_rng(seed)
    width, height = size
    path.parent.mkdir(parents=True, exist_ok=True)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.options = {"preset": "veryfast", "crf": "23"}
        stream.codec_context.gop_size = fps * 2  # a keyframe every 2 s, as phones write
        for index in range(round(seconds * fps)):
            t = index / fps
            if index % round(SCENE_S * fps) == 0:
                base = rng.integers(30, 220, 3).astype(np.float32)
                blob = rng.integers(0, 255, 3).astype(np.float32)
                texture = rng.normal(0, 12, (height, width, 1)).astype(np.float32)
            cx = width * (0.3 + 0.4 * np.sin(t))
            cy = height * (0.5 + 0.2 * np.cos(1.3 * t))
            inside = ((xs - cx) ** 2 + (ys - cy) ** 2) < (height / 4) ** 2
            picture = np.where(inside[..., None], blob, base + ys[..., None] / height * 40)
            pixels = np.clip(picture + texture, 0, 255).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def naive_sample(path: Path, every_s: float = 1.0) -> int:
    """The straightforward way: decode every frame at full size, keep one a second as RGB."""
    kept = 0
    next_t = 0.0
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= next_t:
                image = frame.to_image()
                image.thumbnail((MIN_SIDE * 4, MIN_SIDE * 4), Image.Resampling.BILINEAR)
                kept += 1
                next_t += every_s
    return kept


def run(work: Path, quick: bool) -> list[Section]:
    clips = 2 if quick else 4
    seconds = 10.0 if quick else 20.0
    print("media: drawing 720p clips ...", flush=True)
    videos = [
        draw_video(work / "clips" / f"VID_{i:02d}.mp4", seconds, (1280, 720), 30, seed=i)
        for i in range(clips)
    ]
    long_s = 60.0 if quick else 600.0
    long_video = draw_video(work / "long" / "film.mp4", long_s, (640, 360), 15, seed=99)
    total_s = clips * seconds

    print("media: sampling frames ...", flush=True)
    with stopwatch() as elapsed:
        frames = sum(len(sample_video(str(v), min_side=MIN_SIDE).frames) for v in videos)
    sampled_s = elapsed()
    with stopwatch() as elapsed:
        naive_frames = sum(naive_sample(v) for v in videos)
    naive_s = elapsed()
    with stopwatch() as elapsed:
        long_frames = len(sample_video(str(long_video), min_side=MIN_SIDE).frames)
    long_sample_s = elapsed()
    with stopwatch() as elapsed:
        naive_sample(long_video)
    long_naive_s = elapsed()

    command = "python -m bench.media" + (" --quick" if quick else "")
    sampling = Section(f"Sampling frames: {clips} clips of {seconds:.0f} s, 720p30 H.264", command)
    sampling.add("video_s_per_s", "seconds of video sampled per second", total_s / sampled_s)
    sampling.add("frames_kept", "frames kept (scene changes + one per 4 s)", frames)
    sampling.add("naive_video_s_per_s", "naive: every frame at full size, 1/s", total_s / naive_s)
    sampling.add("naive_frames", "naive frames kept", naive_frames)
    sampling.add("speedup_vs_naive", "ours / naive", naive_s / sampled_s, "x")
    sampling.add(
        "long_video_s", f"a {long_s / 60:.0f}-minute 360p film: sampling", long_sample_s, "s"
    )
    sampling.add("long_frames_kept", "its frames kept (cap 64)", long_frames)
    sampling.add(
        "long_speedup_vs_naive", "ours / naive on the film", long_naive_s / long_sample_s, "x"
    )

    print("media: indexing the clips end to end ...", flush=True)
    home = work / f"home-{time.time_ns()}"
    with Library(home, model=MODEL, device="cpu", cache_dir=work / "model-cache") as library:
        library.encoder.load()  # model load and export are not indexing time
        with stopwatch() as elapsed:
            summary = library.index([str(work / "clips")])
        index_s = elapsed()
    shutil.rmtree(home, ignore_errors=True)
    indexing = Section("Indexing the clips, ViT-B-32 fast backend, CPU", command)
    indexing.add("indexed", "videos indexed", summary.indexed)
    indexing.add("index_video_s_per_s", "seconds of video indexed per second", total_s / index_s)
    indexing.add("index_s_per_video", "seconds per 20 s clip", index_s / clips, "s")
    return [sampling, indexing, sound_section(quick, command)]


def sound_section(quick: bool, command: str) -> Section:
    """CLAP's audio tower (LAION's HTSAT-unfused shape, random weights): windows per second."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    torch.manual_seed(0)
    model = ClapModel(ClapConfig()).eval()
    # 48 kHz, 10 s windows, cut rather than fused: as laion/clap-htsat-unfused is configured.
    features = ClapFeatureExtractor(truncation="rand_trunc")
    rate = features.sampling_rate
    windows = [
        np.random.default_rng(i).normal(0, 0.1, rate * 10).astype(np.float32)
        for i in range(4 if quick else 16)
    ]
    with torch.inference_mode():
        model.get_audio_features(**features(windows[:2], sampling_rate=rate, return_tensors="pt"))
        with stopwatch() as elapsed:
            for start in range(0, len(windows), 8):
                batch = features(
                    windows[start : start + 8], sampling_rate=rate, return_tensors="pt"
                )
                model.get_audio_features(**batch)
        seconds = elapsed()
    section = Section("Sound windows (10 s at 48 kHz), CLAP HTSAT, torch fp32, CPU", command)
    section.add("windows_per_s", "windows embedded per second", len(windows) / seconds, "/s")
    section.add("realtime_factor", "seconds of sound per second", len(windows) * 10 / seconds, "x")
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work", type=Path, help="keeps drawn clips and the model export")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="ms-bench-"))
    report(run(work, args.quick), args.json)


if __name__ == "__main__":
    main()

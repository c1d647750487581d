//! The shell of a video source ([`SourceIo::Frames`]): reads frames from image files, a raw
//! video file or a camera, decodes them to RGB, and hands each to the source at its rate on a
//! thread of its own (face tracking takes milliseconds per frame; it must not hold up the async
//! runtime). The thread stops when the server drops the source's task.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kagura_capture::SourceInput;
use kagura_capture::source::{FrameFeed, FrameInput};
use kagura_engine::{Engine, lock};

use super::SharedSource;
use crate::clock::now_us;

/// One decoded frame: RGB24, rows top to bottom.
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

/// Reads frames one after another from a [`FrameInput`].
pub struct FrameReader {
    input: FrameInput,
    next: usize,
    raw: Option<std::fs::File>,
    #[cfg(feature = "camera")]
    camera: Option<camera::Camera>,
}

impl FrameReader {
    pub fn open(input: FrameInput) -> anyhow::Result<Self> {
        let mut reader = FrameReader {
            input,
            next: 0,
            raw: None,
            #[cfg(feature = "camera")]
            camera: None,
        };
        match &reader.input {
            FrameInput::Files(files) if files.is_empty() => anyhow::bail!("no image files given"),
            FrameInput::Files(_) => {}
            FrameInput::RawVideo {
                path,
                width,
                height,
            } => {
                anyhow::ensure!(
                    *width > 0 && *height > 0 && width * height <= 8192 * 8192,
                    "raw video {}: frame size {width}x{height} is not usable",
                    path.display()
                );
                reader.raw = Some(
                    std::fs::File::open(path)
                        .map_err(|e| anyhow::anyhow!("raw video {}: {e}", path.display()))?,
                );
            }
            #[cfg(feature = "camera")]
            FrameInput::Camera {
                index,
                width,
                height,
            } => {
                reader.camera = Some(camera::Camera::open(*index, *width, *height)?);
            }
            #[cfg(not(feature = "camera"))]
            FrameInput::Camera { .. } => anyhow::bail!(
                "this kagura was built without camera support: build it with \
                 `cargo build --release --features camera` (needs libclang-dev on Linux), or \
                 track a recorded video with `video = \"FILE.rgb\"`"
            ),
        }
        Ok(reader)
    }

    /// The next frame; `None` at the end (rewound first when `looped`).
    pub fn next_frame(&mut self, looped: bool) -> anyhow::Result<Option<Frame>> {
        match &self.input {
            FrameInput::Files(files) => {
                if self.next >= files.len() {
                    if !looped {
                        return Ok(None);
                    }
                    self.next = 0;
                }
                self.next += 1;
                decode_image(&files[self.next - 1]).map(Some)
            }
            FrameInput::RawVideo {
                path,
                width,
                height,
            } => {
                let (width, height) = (*width, *height);
                let file = self.raw.as_mut().expect("opened");
                let mut pixels = vec![0u8; width * height * 3];
                if !read_whole(file, &mut pixels)? {
                    if !looped || self.next == 0 {
                        return Ok(None);
                    }
                    use std::io::Seek;
                    file.rewind()?;
                    self.next = 0;
                    if !read_whole(file, &mut pixels)? {
                        anyhow::bail!("raw video {}: shorter than one frame", path.display());
                    }
                }
                self.next += 1;
                Ok(Some(Frame {
                    width,
                    height,
                    pixels,
                }))
            }
            #[cfg(feature = "camera")]
            FrameInput::Camera { .. } => self.camera.as_mut().expect("opened").frame().map(Some),
            #[cfg(not(feature = "camera"))]
            FrameInput::Camera { .. } => Ok(None),
        }
    }
}

/// Fills `buf` from `file`; `false` at the end (a partial last frame counts as the end).
fn read_whole(file: &mut std::fs::File, buf: &mut [u8]) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => return Ok(false),
            n => filled += n,
        }
    }
    Ok(true)
}

/// Decodes a PNG or JPEG file to RGB24.
pub fn decode_image(path: &Path) -> anyhow::Result<Frame> {
    let image = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .decode()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .into_rgb8();
    Ok(Frame {
        width: image.width() as usize,
        height: image.height() as usize,
        pixels: image.into_raw(),
    })
}

/// Sets its flag when dropped: the async task that owns it is the thread's lifeline.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Starts the reading thread; the returned future lives as long as the source should run.
pub fn spawn(
    feed: FrameFeed,
    running: SharedSource,
    engine: Arc<Engine>,
) -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    // The reader is opened on its own thread (a camera handle may not move between threads);
    // whether that worked comes back before this returns.
    let (opened_tx, opened) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("kagura-frames".into())
        .spawn(move || {
            let mut reader = match FrameReader::open(feed.input.clone()) {
                Ok(reader) => {
                    let _ = opened_tx.send(Ok(()));
                    reader
                }
                Err(e) => {
                    let _ = opened_tx.send(Err(e));
                    return;
                }
            };
            let period = Duration::from_secs_f32(1.0 / feed.fps.clamp(0.1, 1000.0));
            let mut due = Instant::now();
            while !stopped.load(Ordering::Relaxed) {
                let frame = match reader.next_frame(feed.looped) {
                    Ok(Some(frame)) => frame,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!("video source: {e}");
                        break;
                    }
                };
                // Pace files to their rate; a camera paces itself.
                if !matches!(feed.input, FrameInput::Camera { .. }) {
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    due = due.max(Instant::now() - period) + period;
                }
                let now = now_us();
                let mut source = lock(&running);
                source.feed(
                    SourceInput::Image {
                        width: frame.width,
                        height: frame.height,
                        pixels: &frame.pixels,
                    },
                    &engine,
                    now,
                );
            }
        })?;
    opened
        .recv()
        .map_err(|_| anyhow::anyhow!("the video thread ended before opening its input"))??;
    Ok(async move {
        let _stop = StopOnDrop(stop);
        std::future::pending::<()>().await
    })
}

#[cfg(feature = "camera")]
mod camera {
    //! A camera through nokhwa, frames converted to RGB24.
    use super::Frame;
    use nokhwa::pixel_format::RgbFormat;
    use nokhwa::utils::{CameraIndex, RequestedFormat, RequestedFormatType, Resolution};

    pub struct Camera(nokhwa::Camera);

    impl Camera {
        pub fn open(index: u32, width: usize, height: usize) -> anyhow::Result<Self> {
            let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::HighestResolution(
                Resolution::new(width as u32, height as u32),
            ));
            let mut camera = nokhwa::Camera::new(CameraIndex::Index(index), format)
                .map_err(|e| anyhow::anyhow!("camera {index}: {e}"))?;
            camera
                .open_stream()
                .map_err(|e| anyhow::anyhow!("camera {index}: {e}"))?;
            Ok(Camera(camera))
        }

        pub fn frame(&mut self) -> anyhow::Result<Frame> {
            let buffer = self.0.frame().map_err(|e| anyhow::anyhow!("camera: {e}"))?;
            let image = buffer
                .decode_image::<RgbFormat>()
                .map_err(|e| anyhow::anyhow!("camera: {e}"))?;
            Ok(Frame {
                width: image.width() as usize,
                height: image.height() as usize,
                pixels: image.into_raw(),
            })
        }
    }
}

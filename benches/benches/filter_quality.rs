//! Filter quality: jitter, lag and error of the One Euro rotation filter (the whole-pose
//! [`PoseFilter`], with each source's preset), printed per bone group beside an exponential moving
//! average (slerp with a fixed factor) tuned in the same run to the same jitter.
//!
//! Two kinds of motion, 60 Hz, each with a fixed noise seed:
//! - **synthetic** (30 s), the motion the presets were first tuned on: an arm that swings
//!   between poses (80° in 0.6 s, then held for 2.4 s, with a slight sway) and a head that turns
//!   to look left, ahead and right (29° in 0.4 s, held 2.1 s); white noise σ 0.6° per axis and a
//!   6° one-sample spike every 2.5 s;
//! - **real**: a CMU Graphics Lab motion capture clip (subject 131, trial 02, a walk that starts
//!   and stops, arms swinging; 120 Hz decimated to 60 Hz, 10.4 s), read by Kagura's own BVH
//!   parser and retargeted to the humanoid; every bone that moves ≥ 5° gets white noise σ 0.7°
//!   per axis and, one frame in 200, a 5° spike in a random direction, as a webcam tracker
//!   sending VMC does. Frames carry the sender's capture times (exact 60 Hz).
//!
//! Figures, per group (over its bones):
//! - jitter: RMS of the high-frequency part (the series minus its 83 ms centred moving average)
//!   of what the noise changes in the output: the filter's output on the noisy input against its
//!   output on the clean input, as a rotation vector, degrees. For the raw input that is the
//!   noise itself. Motion the filter lags behind is not jitter; it shows as lag and error;
//! - lag: the delay at which the output best matches the clean motion (least mean squared
//!   angle over the delays −10…30 frames, interpolated between frames), ms;
//! - error: the angle between output and clean motion, degrees: mean / 95th percentile / mean
//!   over the fastest 10% of the group's (bone, frame) samples by clean angular speed;
//! - the EMA's factor is bisected until its jitter equals One Euro's; "lag ratio" is One
//!   Euro's lag over the EMA's (below 1: One Euro follows better at equal smoothness).
//!
//! The clip, `cmu_131_02_60hz.bvh`: CMU Graphics Lab Motion Capture Database
//! (<http://mocap.cs.cmu.edu>, free for all uses, not to be resold; "The data used in this
//! project was obtained from mocap.cs.cmu.edu. The database was created with funding from NSF
//! EIA-0196217."),
//! subject 131 ("Michael Jackson styled motions"), trial 02 ("start walk stop"), in B. Hahne's
//! 3ds Max-friendly BVH conversion (120 Hz); every other frame kept, values rounded to 0.01.
//! It is looked for at `$KAGURA_MOCAP_BVH`, then `shared/data/mocap/` beside the repository,
//! then `benches/data/`; without it the real motion is skipped.
//!
//! Last, each preset on the clean clip (no noise): the lag and error it adds by itself.
//!
//! Run: `cargo bench -p kagura-benches --bench filter_quality`.

use std::f32::consts::TAU;
use std::path::{Path, PathBuf};

use glam::{Quat, Vec3};
use kagura_capture::SourceKindSpec;
use kagura_capture::bvh::parser::parse_bvh;
use kagura_capture::vmc::VmcConfig;
use kagura_filter::{BoneGroup, FilterSettings, MAX_PREDICT_US, PoseFilter};
use kagura_protocol::{HumanoidBone, PerformerId, PoseFrame};
use kagura_skeleton::{Axes, Retargeter, TargetBody};

const RATE_HZ: f32 = 60.0;
/// The real clip's file name.
const CLIP: &str = "cmu_131_02_60hz.bvh";
/// Bones of the real clip that move less than this are left out: their lag means nothing.
const MIN_RANGE_DEG: f32 = 5.0;
/// The fastest share of each group's (bone, frame) samples, by clean angular speed.
const FAST_FRACTION: f32 = 0.10;
/// Delays searched for the lag, frames (negative: the output leads, as prediction can make it).
const LAG_SHIFTS: std::ops::RangeInclusive<i32> = -10..=30;

/// A deterministic Gaussian source (xorshift + Box–Muller).
struct Noise(u64);

impl Noise {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) as f32
    }
    fn gaussian(&mut self) -> f32 {
        let (u1, u2) = (self.uniform().max(1e-9), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }
    fn vector(&mut self) -> Vec3 {
        Vec3::new(self.gaussian(), self.gaussian(), self.gaussian())
    }
}

/// What a tracker adds to the motion.
#[derive(Clone, Copy)]
struct Tracking {
    /// White noise per axis, degrees.
    sigma_deg: f32,
    spike_deg: f32,
    spikes: Spikes,
    seed: u64,
}

#[derive(Clone, Copy)]
enum Spikes {
    /// Frame k % n == n / 2, always the same direction.
    Every(usize),
    /// Each bone, each frame, with probability 1/n, in a random direction.
    OneIn(f32),
}

impl Tracking {
    fn describe(&self) -> String {
        match self.spikes {
            Spikes::Every(n) => format!(
                "noise σ {}°/axis + {}° spikes every {:.1} s",
                self.sigma_deg,
                self.spike_deg,
                n as f32 / RATE_HZ
            ),
            Spikes::OneIn(n) => format!(
                "noise σ {}°/axis + {}° spikes (1 frame in {n} per bone)",
                self.sigma_deg, self.spike_deg
            ),
        }
    }
}

/// A motion: per bone, its clean local rotation per frame.
struct Clip {
    name: String,
    bones: Vec<HumanoidBone>,
    clean: Vec<Vec<Quat>>,
    rate_hz: f32,
}

impl Clip {
    fn frames(&self) -> usize {
        self.clean[0].len()
    }
}

/// Moves between `poses` (radians), one every `period` seconds, each move an ease-in-out taking
/// `duration` seconds, then holding.
fn swings(t: f32, poses: &[f32], period: f32, duration: f32) -> f32 {
    let step = (t / period) as usize;
    let (from, to) = (poses[step % poses.len()], poses[(step + 1) % poses.len()]);
    let progress = ((t - step as f32 * period) / duration).clamp(0.0, 1.0);
    from + (to - from) * (1.0 - (std::f32::consts::PI * progress).cos()) / 2.0
}

fn synthetic(name: &str, bone: HumanoidBone, axis: Vec3, angle: fn(f32) -> f32) -> Clip {
    let frames = (RATE_HZ * 30.0) as usize;
    Clip {
        name: name.into(),
        bones: vec![bone],
        clean: vec![
            (0..frames)
                .map(|k| Quat::from_axis_angle(axis, angle(k as f32 / RATE_HZ)))
                .collect(),
        ],
        rate_hz: RATE_HZ,
    }
}

/// Where the clip may be.
fn clip_path() -> Result<PathBuf, Vec<PathBuf>> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut candidates: Vec<PathBuf> = std::env::var_os("KAGURA_MOCAP_BVH")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(manifest.join("../../shared/data/mocap").join(CLIP));
    candidates.push(manifest.join("data").join(CLIP));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or(candidates)
}

/// A BVH file through Kagura's parser and retargeter; the bones that move.
fn load_clip(path: &Path) -> anyhow::Result<Clip> {
    let text = std::fs::read_to_string(path)?;
    let bvh = parse_bvh(&text, Axes::BVH_CENTIMETRES)?;
    let rate_hz = (1.0 / bvh.frame_time_s.unwrap_or(1.0 / 60.0)).round();
    let mut retargeter = Retargeter::new(bvh.skeleton.clone(), &TargetBody::default())
        .map_err(anyhow::Error::msg)?;
    let mut poses = Vec::with_capacity(bvh.motion.len());
    for line in &bvh.motion {
        let frame = bvh.frame(line)?;
        let mut pose = PoseFrame::new(PerformerId(0));
        retargeter.retarget(&frame.locals, frame.root_position, &mut pose);
        poses.push(pose);
    }
    let (mut bones, mut clean) = (Vec::new(), Vec::new());
    for bone in HumanoidBone::ALL {
        let Some(series) = poses
            .iter()
            .map(|p| p.bone(bone))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        let range = series
            .iter()
            .map(|q| angle(series[0], *q))
            .fold(0.0f32, f32::max);
        if range.to_degrees() >= MIN_RANGE_DEG {
            bones.push(bone);
            clean.push(series);
        }
    }
    anyhow::ensure!(!bones.is_empty(), "no bone moves");
    Ok(Clip {
        name: path.file_name().unwrap().to_string_lossy().into_owned(),
        bones,
        clean,
        rate_hz,
    })
}

/// The angle between two rotations, radians (accurate near zero).
fn angle(a: Quat, b: Quat) -> f32 {
    let d = a.inverse() * b;
    2.0 * d.xyz().length().atan2(d.w.abs())
}

/// The rotation from `a` to `b` (`a⁻¹·b`) as a rotation vector, radians.
fn log_between(a: Quat, b: Quat) -> Vec3 {
    let d = a.inverse() * b;
    let d = if d.w < 0.0 { -d } else { d };
    let v = d.xyz();
    let n = v.length();
    if n < 1e-9 {
        2.0 * v
    } else {
        v * (2.0 * n.atan2(d.w) / n)
    }
}

/// The clip as frames, timestamped as the sender stamps them.
fn frames(clip: &Clip, series: &[Vec<Quat>]) -> Vec<PoseFrame> {
    let frame_us = 1e6 / f64::from(clip.rate_hz);
    (0..clip.frames())
        .map(|k| {
            let mut pose = PoseFrame::new(PerformerId(0));
            pose.capture_us = 1_000_000 + (k as f64 * frame_us).round() as u64;
            for (b, bone) in clip.bones.iter().enumerate() {
                pose.set_bone(*bone, series[b][k]);
            }
            pose
        })
        .collect()
}

/// The clean rotations as a tracker reports them.
fn track(clip: &Clip, tracking: &Tracking) -> Vec<Vec<Quat>> {
    let mut noise = Noise(tracking.seed);
    let mut noisy = clip.clean.clone();
    let fixed = Vec3::new(1.0, -0.5, 0.7).normalize();
    for k in 0..clip.frames() {
        for series in noisy.iter_mut() {
            let mut jitter = noise.vector() * tracking.sigma_deg.to_radians();
            let spike = match tracking.spikes {
                Spikes::Every(n) => (k % n == n / 2).then_some(fixed),
                Spikes::OneIn(n) => {
                    (noise.uniform() * n < 1.0).then(|| noise.vector().normalize_or(Vec3::X))
                }
            };
            if let Some(direction) = spike {
                jitter += direction * tracking.spike_deg.to_radians();
            }
            series[k] = Quat::from_scaled_axis(jitter) * series[k];
        }
    }
    noisy
}

/// Per bone, its rotation per frame, through a [`PoseFilter`].
fn pose_filter(clip: &Clip, input: &[Vec<Quat>], settings: &FilterSettings) -> Vec<Vec<Quat>> {
    let mut filter = PoseFilter::default();
    let output: Vec<PoseFrame> = frames(clip, input)
        .into_iter()
        .map(|mut frame| {
            filter.apply(&mut frame, settings);
            frame
        })
        .collect();
    clip.bones
        .iter()
        .map(|bone| output.iter().map(|f| f.bone(*bone).unwrap()).collect())
        .collect()
}

fn ema(input: &[Vec<Quat>], alpha: f32) -> Vec<Vec<Quat>> {
    input
        .iter()
        .map(|series| {
            let mut state = series[0];
            series
                .iter()
                .map(|q| {
                    let q = if q.dot(state) < 0.0 { -*q } else { *q };
                    state = state.slerp(q, alpha).normalize();
                    state
                })
                .collect()
        })
        .collect()
}

/// A group's bones (indices into the clip) and which of their (bone, frame) samples are fast.
struct Group {
    group: BoneGroup,
    members: Vec<usize>,
    fast: Vec<Vec<bool>>,
    fast_threshold_deg_s: f32,
}

fn groups(clip: &Clip) -> Vec<Group> {
    BoneGroup::ALL
        .into_iter()
        .filter_map(|group| {
            let members: Vec<usize> = (0..clip.bones.len())
                .filter(|b| BoneGroup::of(clip.bones[*b]) == group)
                .collect();
            if members.is_empty() {
                return None;
            }
            let speeds: Vec<Vec<f32>> = members
                .iter()
                .map(|b| {
                    let q = &clip.clean[*b];
                    (0..q.len())
                        .map(|k| {
                            let (lo, hi) = (k.saturating_sub(1), (k + 1).min(q.len() - 1));
                            angle(q[lo], q[hi]) * clip.rate_hz / (hi - lo) as f32
                        })
                        .collect()
                })
                .collect();
            let mut all: Vec<f32> = speeds.iter().flatten().copied().collect();
            all.sort_by(f32::total_cmp);
            let threshold = all[((1.0 - FAST_FRACTION) * all.len() as f32) as usize];
            Some(Group {
                group,
                members,
                fast: speeds
                    .iter()
                    .map(|s| s.iter().map(|v| *v >= threshold).collect())
                    .collect(),
                fast_threshold_deg_s: threshold.to_degrees(),
            })
        })
        .collect()
}

/// RMS of the high-frequency part of `output` against `reference` (the same filter on the clean
/// input), degrees.
fn jitter(group: &Group, reference: &[Vec<Quat>], output: &[Vec<Quat>]) -> f32 {
    let half = 2; // 5 samples = 83 ms
    let (mut sum, mut n) = (0.0f64, 0usize);
    for b in &group.members {
        let residual: Vec<Vec3> = reference[*b]
            .iter()
            .zip(&output[*b])
            .map(|(r, o)| log_between(*r, *o))
            .collect();
        for k in half..residual.len() - half {
            let mean =
                residual[k - half..=k + half].iter().copied().sum::<Vec3>() / (2 * half + 1) as f32;
            sum += f64::from((residual[k] - mean).length_squared());
            n += 1;
        }
    }
    ((sum / n as f64).sqrt() as f32).to_degrees()
}

#[derive(Clone, Copy)]
struct Quality {
    jitter_deg: f32,
    lag_ms: f32,
    mean_deg: f32,
    p95_deg: f32,
    fast_deg: f32,
}

fn quality(clip: &Clip, group: &Group, reference: &[Vec<Quat>], output: &[Vec<Quat>]) -> Quality {
    let frames = clip.frames();
    let mut errors = Vec::with_capacity(frames * group.members.len());
    let (mut fast_sum, mut fast_n) = (0.0f32, 0usize);
    for (i, b) in group.members.iter().enumerate() {
        let samples = clip.clean[*b].iter().zip(&output[*b]).zip(&group.fast[i]);
        for ((truth, out), fast) in samples {
            let e = angle(*truth, *out).to_degrees();
            errors.push(e);
            if *fast {
                fast_sum += e;
                fast_n += 1;
            }
        }
    }
    let mean_deg = errors.iter().sum::<f32>() / errors.len() as f32;
    errors.sort_by(f32::total_cmp);
    let p95_deg = errors[(0.95 * errors.len() as f32) as usize];

    let (lo, hi) = (*LAG_SHIFTS.start(), *LAG_SHIFTS.end());
    let mse = |shift: i32| -> f32 {
        let mut sum = 0.0f64;
        for b in &group.members {
            let outputs = output[*b].iter().enumerate();
            for (k, out) in outputs.take(frames - (-lo) as usize).skip(hi as usize) {
                let truth = clip.clean[*b][(k as i32 - shift) as usize];
                sum += f64::from(angle(truth, *out).powi(2));
            }
        }
        sum as f32
    };
    let scores: Vec<f32> = LAG_SHIFTS.map(mse).collect();
    let best = (0..scores.len())
        .min_by(|a, b| scores[*a].total_cmp(&scores[*b]))
        .unwrap();
    // Parabolic interpolation around the best delay, for sub-frame resolution.
    let offset = if best > 0 && best + 1 < scores.len() {
        let (l, c, r) = (scores[best - 1], scores[best], scores[best + 1]);
        0.5 * (l - r) / (l - 2.0 * c + r)
    } else {
        0.0
    };
    Quality {
        jitter_deg: jitter(group, reference, output),
        lag_ms: (best as f32 + lo as f32 + offset) * 1000.0 / clip.rate_hz,
        mean_deg,
        p95_deg,
        fast_deg: fast_sum / fast_n.max(1) as f32,
    }
}

/// One group's figures: raw input, One Euro, and the EMA at One Euro's jitter.
struct Row {
    raw: Quality,
    filtered: Quality,
    alpha: f32,
    matched: Quality,
    /// No EMA factor reaches One Euro's jitter (the closest is shown).
    unmatched: bool,
}

fn row(clip: &Clip, group: &Group, noisy: &[Vec<Quat>], settings: &FilterSettings) -> Row {
    let raw = quality(clip, group, &clip.clean, noisy);
    let filtered = quality(
        clip,
        group,
        &pose_filter(clip, &clip.clean, settings),
        &pose_filter(clip, noisy, settings),
    );
    // Bisect the EMA factor until its jitter matches One Euro's (smaller factor: smoother).
    let ema_of = |alpha: f32| (ema(&clip.clean, alpha), ema(noisy, alpha));
    let (mut lo, mut hi) = (0.001f32, 1.0f32);
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        let (reference, output) = ema_of(mid);
        if jitter(group, &reference, &output) > filtered.jitter_deg {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let (reference, output) = ema_of(lo);
    let matched = quality(clip, group, &reference, &output);
    Row {
        raw,
        filtered,
        alpha: lo,
        unmatched: matched.jitter_deg > filtered.jitter_deg * 1.05,
        matched,
    }
}

fn errors(q: &Quality) -> String {
    format!("{:.2}/{:.2}/{:.2}°", q.mean_deg, q.p95_deg, q.fast_deg)
}

fn report(clip: &Clip, tracking: &Tracking, configs: &[(&str, FilterSettings)]) {
    let noisy = track(clip, tracking);
    let groups = groups(clip);
    println!(
        "\n{}: {:.1} s at {} Hz, {} moving bone(s); {}",
        clip.name,
        clip.frames() as f32 / clip.rate_hz,
        clip.rate_hz,
        clip.bones.len(),
        tracking.describe()
    );
    for (name, settings) in configs {
        println!("  {name} (predict {} µs):", settings.predict_us);
        for group in &groups {
            let r = row(clip, group, &noisy, settings);
            let p = settings.rotation(group.group);
            println!(
                "    {:<7} {:>2} bone(s), fast ≥ {:>3.0}°/s | raw jitter {:.3}°, err {} | One Euro ({} Hz, β {}, d {} Hz) jitter {:.3}° (−{:.1}%), lag {:5.1} ms, err {} | EMA α {:.3}{} jitter {:.3}°, lag {:5.1} ms, err {} | lag ratio {:.2}, fast err {:.1}× raw",
                format!("{:?}", group.group).to_lowercase(),
                group.members.len(),
                group.fast_threshold_deg_s,
                r.raw.jitter_deg,
                errors(&r.raw),
                p.min_cutoff_hz,
                p.beta,
                p.derivative_cutoff_hz,
                r.filtered.jitter_deg,
                (1.0 - r.filtered.jitter_deg / r.raw.jitter_deg) * 100.0,
                r.filtered.lag_ms,
                errors(&r.filtered),
                r.alpha,
                if r.unmatched { " (closest)" } else { "" },
                r.matched.jitter_deg,
                r.matched.lag_ms,
                errors(&r.matched),
                r.filtered.lag_ms / r.matched.lag_ms,
                r.filtered.fast_deg / r.raw.fast_deg,
            );
        }
    }
}

fn main() {
    let vmc = <VmcConfig as SourceKindSpec>::filter_preset();
    let mut other_prediction = vmc;
    other_prediction.predict_us = if vmc.predict_us == 0 {
        MAX_PREDICT_US
    } else {
        0
    };
    let configs = [
        ("VMC preset", vmc),
        (
            if vmc.predict_us == 0 {
                "VMC preset with prediction"
            } else {
                "VMC preset without prediction"
            },
            other_prediction,
        ),
        ("light preset (demo, BVH)", FilterSettings::light()),
    ];
    println!(
        "filter quality: per group, raw input | One Euro | EMA tuned to One Euro's jitter; errors vs the clean motion are mean / p95 / mean over the fastest {:.0}% of samples",
        FAST_FRACTION * 100.0
    );
    let synthetic_tracking = Tracking {
        sigma_deg: 0.6,
        spike_deg: 6.0,
        spikes: Spikes::Every(150),
        seed: 0x5eed,
    };
    let arm = synthetic(
        "synthetic arm swing",
        HumanoidBone::LeftUpperArm,
        Vec3::Z,
        |t| swings(t, &[-0.6, 0.8], 3.0, 0.6) + 0.03 * (TAU * 0.3 * t).sin(),
    );
    report(&arm, &synthetic_tracking, &configs[..2]);
    let head = synthetic("synthetic head turn", HumanoidBone::Head, Vec3::Y, |t| {
        swings(t, &[0.0, 0.5, 0.0, -0.5], 2.5, 0.4)
    });
    report(
        &head,
        &Tracking {
            seed: 0x5eee,
            ..synthetic_tracking
        },
        &configs[..2],
    );

    let clip = match clip_path() {
        Ok(path) => load_clip(&path).map_err(|e| format!("{}: {e}", path.display())),
        Err(looked) => Err(format!("{CLIP} not found (looked at {looked:?})")),
    };
    match clip {
        Ok(clip) => {
            let tracking = Tracking {
                sigma_deg: 0.7,
                spike_deg: 5.0,
                spikes: Spikes::OneIn(200.0),
                seed: 0x005e_edc1,
            };
            report(&clip, &tracking, &configs);
            println!(
                "\n{}, clean (no noise): what each preset adds by itself",
                clip.name
            );
            for (name, settings) in [configs[0], configs[2]] {
                println!("  {name} (predict {} µs):", settings.predict_us);
                let output = pose_filter(&clip, &clip.clean, &settings);
                for group in groups(&clip) {
                    let q = quality(&clip, &group, &output, &output);
                    println!(
                        "    {:<7} lag {:5.1} ms, err {}",
                        format!("{:?}", group.group).to_lowercase(),
                        q.lag_ms,
                        errors(&q)
                    );
                }
            }
        }
        Err(e) => println!("\nreal motion skipped: {e}"),
    }
}

//! Synthetic faces: a deterministic generator of grayscale face images with two factors,
//! identity and expression, so that a study runs on any machine without a download.
//!
//! Identity sets the face geometry (shape, eye spacing and size, nose, mouth width, hair line,
//! skin and background tone); expression moves the mouth (curvature, opening, width), the brows
//! (height, tilt) and the eyelids. Pose, illumination and pixel noise vary per image. Two knobs
//! make either task the hard one: `identity_separation` scales how far identities lie apart and
//! `expression_strength` how far an expression moves the face away from neutral.
//!
//! Two more knobs give the tasks shared structure, so that one can help the other. With
//! `resting_face` > 0 every identity has a resting face: its own mouth curvature and width, brow
//! height and tilt and eye opening at neutral, the very features that expressions move. An
//! image then shows resting face + expression, so recognising the expression means reading the
//! features relative to the person's resting face, and verifying the person from an expressive
//! probe means taking the expression's movement back out of them. `identity_tone` < 1 moves
//! part of the skin and background tone from the identity to the single picture, which takes
//! away identity cues that need none of those features.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::FaceSet;
use crate::error::{Error, Result};
use crate::files::atomic_write;
use crate::rng::Rng;

/// Expression names in CK+ order without `contempt`, which the synthetic faces do not draw.
pub const EXPRESSIONS: [&str; 7] = [
    "neutral", "anger", "disgust", "fear", "happy", "sadness", "surprise",
];

/// Settings of the synthetic-faces generator (`synthetic:` in the experiment YAML).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SynthConfig {
    /// Number of identities in all, test identities included.
    pub identities: usize,
    /// Identities held out for evaluation; they never appear in training.
    pub test_identities: usize,
    /// Identities held out for model selection (the validation split), apart from both the
    /// training and the test identities (0 = no validation split).
    #[serde(default, skip_serializing_if = "is_zero_count")]
    pub val_identities: usize,
    /// Number of expressions, 2..=7, taken in the order of [`EXPRESSIONS`].
    #[serde(default = "default_expressions")]
    pub expressions: usize,
    /// Images drawn per (identity, expression) cell.
    #[serde(default = "default_images_per_cell")]
    pub images_per_cell: usize,
    /// Side of the square images, in pixels.
    #[serde(default = "default_image_size")]
    pub image_size: usize,
    /// Seed of the generator (independent of the training seed).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// How far apart identities lie (1 = default; lower makes face verification harder).
    #[serde(default = "one")]
    pub identity_separation: f64,
    /// How strongly expressions deform the face (1 = default; lower makes expressions harder).
    #[serde(default = "one")]
    pub expression_strength: f64,
    /// Scale of pose and illumination jitter (1 = default, 0 = none).
    #[serde(default = "one")]
    pub jitter: f64,
    /// Standard deviation of the additive pixel noise.
    #[serde(default = "default_noise")]
    pub noise: f64,
    /// Spread of the identities' resting faces (mouth curvature and width, brow height and
    /// tilt, eye opening at neutral), in units of a full expression's movement (0 = every
    /// identity has the same resting face).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resting_face: f64,
    /// Share of the skin and background tone that belongs to the identity (1 = all of it; the
    /// rest is drawn per picture, so that tone stops telling identities apart).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub identity_tone: f64,
    /// How far an expression reshapes the face geometry that identifies a person (face width
    /// and length, eye spacing and height, nose length, mouth height), in units of the spread
    /// between identities at `identity_separation` 1 (0 = expressions move only mouth, brows and
    /// eyelids).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub expression_warp: f64,
    /// How far heads tilt in the picture plane: the tilt (the `pose` task's label) is drawn
    /// uniformly within ±6.875° × `jitter` × `tilt` (1 = default).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub tilt: f64,
}

// The knobs that came after the first release are left out of the resolved config at their
// defaults, so that the run ids of existing run folders do not change.
fn is_zero(v: &f64) -> bool {
    *v == 0.0
}
fn is_one(v: &f64) -> bool {
    *v == 1.0
}
fn is_zero_count(v: &usize) -> bool {
    *v == 0
}

fn default_expressions() -> usize {
    7
}
fn default_images_per_cell() -> usize {
    6
}
fn default_image_size() -> usize {
    48
}
fn default_seed() -> u64 {
    7
}
fn one() -> f64 {
    1.0
}
fn default_noise() -> f64 {
    0.03
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            identities: 60,
            test_identities: 12,
            val_identities: 0,
            expressions: 7,
            images_per_cell: 6,
            image_size: 48,
            seed: 7,
            identity_separation: 1.0,
            expression_strength: 1.0,
            jitter: 1.0,
            noise: 0.03,
            resting_face: 0.0,
            identity_tone: 1.0,
            expression_warp: 0.0,
            tilt: 1.0,
        }
    }
}

/// Geometry and tone of one identity, in face coordinates (the image spans [-0.5, 0.5]).
#[derive(Debug, Clone)]
struct Identity {
    face_a: f64,
    face_b: f64,
    eye_dx: f64,
    eye_y: f64,
    eye_r: f64,
    brow_gap: f64,
    nose_len: f64,
    mouth_y: f64,
    mouth_w: f64,
    hair_y: f64,
    skin: f64,
    background: f64,
}

/// The face movements of one expression relative to neutral.
#[derive(Debug, Clone, Copy)]
struct Movement {
    mouth_curve: f64,
    mouth_open: f64,
    mouth_width: f64,
    brow_raise: f64,
    brow_tilt: f64,
    eye_open: f64,
}

impl Movement {
    fn of(expression: usize) -> Self {
        // (curve, open, width, brow raise, brow tilt (+ = inner ends down), eye opening)
        let m = |c, o, w, r, t, e| Movement {
            mouth_curve: c,
            mouth_open: o,
            mouth_width: w,
            brow_raise: r,
            brow_tilt: t,
            eye_open: e,
        };
        match expression {
            0 => m(0.0, 0.0, 0.0, 0.0, 0.0, 0.0),       // neutral
            1 => m(-0.4, 0.0, -0.15, -0.8, 1.0, -0.2),  // anger
            2 => m(-0.7, 0.25, -0.2, -0.4, 0.5, -0.45), // disgust
            3 => m(-0.3, 0.6, 0.0, 0.9, -0.7, 0.5),     // fear
            4 => m(1.0, 0.25, 0.3, 0.1, 0.0, -0.2),     // happy
            5 => m(-1.0, 0.0, -0.05, 0.3, -1.0, -0.15), // sadness
            _ => m(0.0, 1.0, -0.2, 1.0, 0.0, 0.6),      // surprise
        }
    }

    fn scaled(self, s: f64) -> Self {
        Movement {
            mouth_curve: self.mouth_curve * s,
            mouth_open: self.mouth_open * s,
            mouth_width: self.mouth_width * s,
            brow_raise: self.brow_raise * s,
            brow_tilt: self.brow_tilt * s,
            eye_open: self.eye_open * s,
        }
    }

    /// This movement on top of the resting face `rest`.
    fn on_rest(self, rest: Movement) -> Self {
        Movement {
            mouth_curve: rest.mouth_curve + self.mouth_curve,
            mouth_open: rest.mouth_open + self.mouth_open,
            mouth_width: rest.mouth_width + self.mouth_width,
            brow_raise: rest.brow_raise + self.brow_raise,
            brow_tilt: rest.brow_tilt + self.brow_tilt,
            eye_open: rest.eye_open + self.eye_open,
        }
    }

    /// A resting face drawn with `spread` (in units of a full expression's movement): every
    /// feature an expression moves but the mouth's opening, which stays closed at rest.
    fn resting(rng: &mut Rng, spread: f64) -> Self {
        let mut t = |amplitude: f64| spread * amplitude * (rng.uniform() - 0.5) * 2.0;
        Movement {
            mouth_curve: t(0.8),
            mouth_open: 0.0,
            mouth_width: t(0.25),
            brow_raise: t(0.8),
            brow_tilt: t(0.8),
            eye_open: t(0.4),
        }
    }
}

impl Identity {
    /// This face as expression `expression` at `intensity` reshapes it with `warp`: each
    /// expression moves some identifying features by a fixed fraction of the features' spread
    /// between identities (the ranges of [`Identity::draw`]).
    fn warped(&self, expression: usize, intensity: f64, warp: f64) -> Self {
        if warp == 0.0 {
            return self.clone();
        }
        // (face width, face length, eye spacing, eye height, nose length, mouth height), each in
        // units of its range between identities.
        let shift: [f64; 6] = match expression {
            0 => [0.0; 6],
            1 => [0.5, -0.5, -0.5, 0.5, -0.5, -0.5], // anger
            2 => [-0.5, -0.5, 0.0, 0.5, -1.0, -0.5], // disgust
            3 => [-0.5, 0.5, 0.5, -0.5, 0.5, 0.5],   // fear
            4 => [1.0, -0.5, 0.5, 0.5, 0.0, -0.5],   // happy
            5 => [-0.5, 0.5, -0.5, 0.0, 0.5, 0.5],   // sadness
            _ => [-0.5, 1.0, 0.0, -1.0, 0.5, 1.0],   // surprise
        };
        let s = |k: usize, lo: f64, hi: f64| warp * intensity * shift[k] * (hi - lo);
        Identity {
            face_a: self.face_a + s(0, 0.28, 0.40),
            face_b: self.face_b + s(1, 0.38, 0.47),
            eye_dx: self.eye_dx + s(2, 0.10, 0.17),
            eye_y: self.eye_y + s(3, -0.10, -0.02),
            nose_len: self.nose_len + s(4, 0.06, 0.14),
            mouth_y: self.mouth_y + s(5, 0.15, 0.24),
            ..self.clone()
        }
    }

    fn draw(rng: &mut Rng, separation: f64) -> Self {
        // Each trait is drawn around its midpoint; separation scales the spread.
        let mut t = |lo: f64, hi: f64| {
            let mid = 0.5 * (lo + hi);
            mid + separation * (rng.uniform() - 0.5) * (hi - lo)
        };
        Identity {
            face_a: t(0.28, 0.40),
            face_b: t(0.38, 0.47),
            eye_dx: t(0.10, 0.17),
            eye_y: t(-0.10, -0.02),
            eye_r: t(0.035, 0.06),
            brow_gap: t(0.045, 0.08),
            nose_len: t(0.06, 0.14),
            mouth_y: t(0.15, 0.24),
            mouth_w: t(0.08, 0.15),
            hair_y: t(-0.40, -0.18),
            skin: t(0.45, 0.85),
            background: t(0.05, 0.30),
        }
    }
}

fn smooth(signed_distance: f64, width: f64) -> f64 {
    (0.5 - signed_distance / width).clamp(0.0, 1.0)
}

fn segment_distance(px: f64, py: f64, ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    ((px - ax - t * dx).powi(2) + (py - ay - t * dy).powi(2)).sqrt()
}

/// Pose and lighting of one picture.
struct Shot {
    dx: f64,
    dy: f64,
    angle: f64,
    scale: f64,
    light_dir: f64,
    light: f64,
}

fn render(
    id: &Identity,
    mv: Movement,
    shot: &Shot,
    size: usize,
    rng: &mut Rng,
    noise: f64,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(size * size);
    let pixel = 1.0 / size as f64 / shot.scale;
    let aa = 1.5 * pixel;
    let (sin, cos) = (-shot.angle).sin_cos();
    let eye_ry = id.eye_r * 0.6 * (1.0 + 1.2 * mv.eye_open).max(0.12);
    let mouth_w = id.mouth_w * (1.0 + 0.5 * mv.mouth_width);
    for py in 0..size {
        for px in 0..size {
            let u = (px as f64 + 0.5) / size as f64 - 0.5 - shot.dx;
            let v = (py as f64 + 0.5) / size as f64 - 0.5 - shot.dy;
            let x = (u * cos - v * sin) / shot.scale;
            let y = (u * sin + v * cos) / shot.scale;

            let mut value = id.background;
            let r = ((x / id.face_a).powi(2) + (y / id.face_b).powi(2)).sqrt();
            let face = smooth((r - 1.0) * id.face_a.min(id.face_b), aa);
            value += face * (id.skin - value);
            let hair = face * smooth(y - id.hair_y, aa);
            value += hair * (0.12 - value);

            for side in [-1.0, 1.0] {
                let cx = side * id.eye_dx;
                let er = ((((x - cx) / id.eye_r).powi(2) + ((y - id.eye_y) / eye_ry).powi(2))
                    .sqrt()
                    - 1.0)
                    * eye_ry.min(id.eye_r);
                value += smooth(er, aa) * (0.08 - value);
                // Brows: inner end (towards the nose) lowered by a positive tilt.
                let by = id.eye_y - id.brow_gap - 0.045 * mv.brow_raise;
                let inner = (cx - side * 0.06, by + 0.04 * mv.brow_tilt);
                let outer = (cx + side * 0.06, by - 0.015 * mv.brow_tilt);
                let bd = segment_distance(x, y, inner.0, inner.1, outer.0, outer.1) - 0.016;
                value += smooth(bd, aa) * (0.1 - value);
            }

            let nose_top = id.eye_y + 0.04;
            let nd = segment_distance(x, y, 0.0, nose_top, 0.0, nose_top + id.nose_len) - 0.007;
            value += smooth(nd, aa) * (id.skin * 0.6 - value);

            // Mouth: a parabola whose corners rise with a positive curve, thickened when open.
            let t = (x / mouth_w).clamp(-1.0, 1.0);
            let centre = id.mouth_y - 0.075 * mv.mouth_curve * (t * t - 0.5);
            let half = 0.013 + 0.045 * mv.mouth_open.max(0.0) * (1.0 - t * t);
            let md = if x.abs() <= mouth_w {
                (y - centre).abs() - half
            } else {
                ((x.abs() - mouth_w).powi(2) + (y - centre).powi(2)).sqrt() - 0.013
            };
            value += smooth(md, aa) * (0.1 - value);

            value *= 1.0 + shot.light * (x * shot.light_dir.cos() + y * shot.light_dir.sin());
            value += noise * rng.normal();
            out.push(value.clamp(0.0, 1.0) as f32);
        }
    }
    out
}

/// Generate the whole synthetic set. The last `test_identities` identities are the test
/// identities, the `val_identities` before them the validation identities, and the rest the
/// training identities. Deterministic in `config`.
pub fn generate(name: &str, config: &SynthConfig) -> FaceSet {
    let size = config.image_size;
    let n_expr = config.expressions.min(EXPRESSIONS.len());
    let cells = config.identities * n_expr * config.images_per_cell;
    let mut set = FaceSet {
        name: name.to_string(),
        image_size: size,
        pixels: Vec::with_capacity(cells * size * size),
        subjects: Vec::with_capacity(cells),
        expressions: Vec::with_capacity(cells),
        subject_names: (0..config.identities)
            .map(|i| format!("id{i:03}"))
            .collect(),
        expression_names: EXPRESSIONS[..n_expr]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        paths: Vec::with_capacity(cells),
        poses: Vec::with_capacity(cells),
    };
    for identity in 0..config.identities {
        let mut id_rng = Rng::derive(config.seed, identity as u64);
        let id = Identity::draw(&mut id_rng, config.identity_separation);
        // Streams of their own, so that settings without these knobs draw the same images.
        let rest = Movement::resting(
            &mut Rng::derive(config.seed ^ 0x2E57, identity as u64),
            config.resting_face,
        );
        for (expression, expression_name) in EXPRESSIONS.iter().enumerate().take(n_expr) {
            for k in 0..config.images_per_cell {
                let stream = ((identity * 8 + expression) * 1000 + k) as u64;
                let mut rng = Rng::derive(config.seed ^ 0xFACE, stream);
                let j = config.jitter;
                let shot = Shot {
                    dx: j * rng.range(-0.04, 0.04),
                    dy: j * rng.range(-0.04, 0.04),
                    angle: j * rng.range(-0.12, 0.12) * config.tilt,
                    scale: 1.0 + j * rng.range(-0.06, 0.06),
                    light_dir: rng.range(0.0, std::f64::consts::TAU),
                    light: j * rng.range(0.0, 0.5),
                };
                let intensity = config.expression_strength * rng.range(0.75, 1.0);
                let mv = Movement::of(expression).scaled(intensity).on_rest(rest);
                let mut tone = Rng::derive(config.seed ^ 0x70E5, stream);
                let t = config.identity_tone;
                let picture = Identity {
                    skin: t * id.skin + (1.0 - t) * tone.range(0.45, 0.85),
                    background: t * id.background + (1.0 - t) * tone.range(0.05, 0.30),
                    ..id.warped(expression, intensity, config.expression_warp)
                };
                let pixels = render(&picture, mv, &shot, size, &mut rng, config.noise);
                set.pixels.extend_from_slice(&pixels);
                set.subjects.push(identity as u32);
                set.expressions.push(expression as u32);
                set.paths
                    .push(format!("id{identity:03}/{expression_name}_{k:02}.png"));
                set.poses.push(shot.angle.to_degrees() as f32);
            }
        }
    }
    set
}

/// Write the synthetic set of `config` under `out` as PNG files (`id000/happy_00.png`, …) with
/// a `manifest.csv` (`path,subject,expression`) that the `manifest` dataset reads. Returns the
/// number of images. Every file is written atomically.
pub fn export(config: &SynthConfig, out: &Path) -> Result<usize> {
    if config.identities == 0 || !(2..=7).contains(&config.expressions) || config.image_size < 8 {
        return Err(Error::input(
            "data synth",
            "flags",
            "need identities ≥ 1, expressions in 2..=7, image size ≥ 8",
        ));
    }
    if !(config.resting_face.is_finite() && config.resting_face >= 0.0) {
        return Err(Error::input(
            "data synth",
            "--resting-face",
            format!("must be ≥ 0 (got {})", config.resting_face),
        ));
    }
    if !(0.0..=1.0).contains(&config.identity_tone) {
        return Err(Error::input(
            "data synth",
            "--identity-tone",
            format!("must be in [0, 1] (got {})", config.identity_tone),
        ));
    }
    let set = generate("synth", config);
    let mut manifest = String::from("path,subject,expression\n");
    for i in 0..set.len() {
        let path = out.join(&set.paths[i]);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io(parent, "cannot create folder", e))?;
        }
        let bytes: Vec<u8> = set
            .image(i)
            .iter()
            .map(|p| (p * 255.0).round() as u8)
            .collect();
        let side = config.image_size as u32;
        let img = image::GrayImage::from_raw(side, side, bytes)
            .ok_or_else(|| Error::Failed("image buffer size mismatch".into()))?;
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| Error::Failed(format!("cannot encode PNG: {e}")))?;
        atomic_write(&path, &png)?;
        manifest.push_str(&format!(
            "{},{},{}\n",
            set.paths[i],
            set.subject_names[set.subjects[i] as usize],
            set.expression_names[set.expressions[i] as usize]
        ));
    }
    atomic_write(&out.join("manifest.csv"), manifest.as_bytes())?;
    Ok(set.len())
}

/// The held-out identities of a synthetic set: the last `test_identities`.
pub fn test_subjects(config: &SynthConfig) -> Vec<u32> {
    ((config.identities - config.test_identities)..config.identities)
        .map(|i| i as u32)
        .collect()
}

/// The validation identities of a synthetic set: the `val_identities` before the test ones.
pub fn val_subjects(config: &SynthConfig) -> Vec<u32> {
    let end = config.identities - config.test_identities;
    (end.saturating_sub(config.val_identities)..end)
        .map(|i| i as u32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> SynthConfig {
        SynthConfig {
            identities: 4,
            test_identities: 1,
            expressions: 3,
            images_per_cell: 2,
            image_size: 16,
            ..SynthConfig::default()
        }
    }

    #[test]
    fn deterministic_and_sized() {
        let a = generate("s", &tiny());
        let b = generate("s", &tiny());
        assert_eq!(a.pixels, b.pixels);
        assert_eq!(a.len(), 4 * 3 * 2);
        assert_eq!(a.pixels.len(), a.len() * 16 * 16);
        let mut other = tiny();
        other.seed = 8;
        assert_ne!(generate("s", &other).pixels, a.pixels);
    }

    #[test]
    fn expression_changes_the_image_more_with_strength() {
        // Two expressions of one identity differ; the difference grows with expression_strength.
        let diff = |strength: f64| {
            let cfg = SynthConfig {
                expression_strength: strength,
                jitter: 0.0,
                noise: 0.0,
                ..tiny()
            };
            let s = generate("s", &cfg);
            let n = 16 * 16;
            // image 0: neutral k=0 of id 0; image 2: expression 1 k=0 of id 0
            s.pixels[..n]
                .iter()
                .zip(&s.pixels[2 * n..3 * n])
                .map(|(a, b)| (a - b).abs() as f64)
                .sum::<f64>()
        };
        assert!(diff(0.0) < 1e-9);
        assert!(diff(1.0) > diff(0.3));
    }
}

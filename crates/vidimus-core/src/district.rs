//! Shenzhen's administrative districts: the one list that organisations' regions
//! (a PSB's district, a state organ's jurisdiction), cameras' regions and registered
//! systems' districts are all taken from.
//!
//! A district is stored and compared by its id (`futian`); it is read from its id,
//! its English name or its Chinese name in any case, with or without "District" / 区
//! (`Futian`, `FUTIAN district`, `福田区` are all `futian`). Anything else is refused,
//! with the nearest id suggested: a PSB whose region was typed `Futian` must not see
//! "No systems" for `futian`.

/// One district.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct District {
    /// The id stored and compared.
    pub id: &'static str,
    /// English name.
    pub en: &'static str,
    /// Chinese name.
    pub zh: &'static str,
}

/// Shenzhen's nine districts and the new district of Dapeng, and the Shenzhen-Shantou
/// Special Cooperation Zone which the city administers.
pub const DISTRICTS: &[District] = &[
    District {
        id: "futian",
        en: "Futian",
        zh: "福田区",
    },
    District {
        id: "luohu",
        en: "Luohu",
        zh: "罗湖区",
    },
    District {
        id: "nanshan",
        en: "Nanshan",
        zh: "南山区",
    },
    District {
        id: "yantian",
        en: "Yantian",
        zh: "盐田区",
    },
    District {
        id: "baoan",
        en: "Bao'an",
        zh: "宝安区",
    },
    District {
        id: "longgang",
        en: "Longgang",
        zh: "龙岗区",
    },
    District {
        id: "longhua",
        en: "Longhua",
        zh: "龙华区",
    },
    District {
        id: "pingshan",
        en: "Pingshan",
        zh: "坪山区",
    },
    District {
        id: "guangming",
        en: "Guangming",
        zh: "光明区",
    },
    District {
        id: "dapeng",
        en: "Dapeng New District",
        zh: "大鹏新区",
    },
    District {
        id: "shenshan",
        en: "Shenzhen-Shantou Special Cooperation Zone",
        zh: "深汕特别合作区",
    },
];

/// A value that names no district.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a district of Shenzhen{}; the districts are {}", suggestion.map(|s| format!(" (did you mean {s}?)")).unwrap_or_default(), DISTRICTS.iter().map(|d| d.id).collect::<Vec<_>>().join(", "))]
pub struct UnknownDistrict {
    pub given: String,
    pub suggestion: Option<&'static str>,
}

/// The key a spelling is compared by: letters and digits only, lower case, without a
/// trailing "district" / "new district" / 区 / 新区.
fn key(s: &str) -> String {
    let k: String = s
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    let k = k
        .strip_suffix("newdistrict")
        .or_else(|| k.strip_suffix("district"))
        .or_else(|| k.strip_suffix("新区"))
        .or_else(|| k.strip_suffix('区'))
        .unwrap_or(&k);
    k.to_owned()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The district named by `s` (its id or English or Chinese name, in any case).
pub fn parse(s: &str) -> Result<&'static District, UnknownDistrict> {
    let k = key(s);
    if let Some(d) = DISTRICTS
        .iter()
        .find(|d| k == d.id || k == key(d.en) || k == key(d.zh))
    {
        return Ok(d);
    }
    let suggestion = DISTRICTS
        .iter()
        .map(|d| (edit_distance(&k, d.id), d.id))
        .min()
        .filter(|(n, _)| *n <= 3)
        .map(|(_, id)| id);
    Err(UnknownDistrict {
        given: s.to_owned(),
        suggestion,
    })
}

/// The id of a district named by `s`, for comparing values already stored (a value
/// stored before districts were checked is compared by its spelling's key).
pub fn normalize(s: &str) -> String {
    parse(s).map_or_else(|_| key(s), |d| d.id.to_owned())
}

/// Whether `a` and `b` name the same district.
pub fn same(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_district_is_its_id() {
        for s in [
            "futian",
            "Futian",
            "FUTIAN",
            " Futian District ",
            "福田区",
            "福田",
        ] {
            assert_eq!(parse(s).unwrap().id, "futian", "{s:?}");
        }
        assert_eq!(parse("Bao'an").unwrap().id, "baoan");
        assert_eq!(parse("baoan district").unwrap().id, "baoan");
        assert_eq!(parse("Dapeng New District").unwrap().id, "dapeng");
        assert_eq!(parse("大鹏新区").unwrap().id, "dapeng");
        assert!(same("Futian", "futian") && same("福田区", "FUTIAN"));
        assert!(!same("futian", "nanshan"));
        // Every district reads back from each of its own names.
        for d in DISTRICTS {
            for s in [d.id, d.en, d.zh] {
                assert_eq!(parse(s).unwrap(), d, "{s:?}");
            }
        }
    }

    #[test]
    fn an_unknown_district_is_refused_with_the_nearest() {
        let e = parse("Futain").unwrap_err();
        assert_eq!(e.suggestion, Some("futian"));
        let m = e.to_string();
        assert!(
            m.contains("did you mean futian?") && m.contains("nanshan"),
            "{m}"
        );
        assert_eq!(parse("Atlantis").unwrap_err().suggestion, None);
        assert!(parse("").is_err());
    }
}

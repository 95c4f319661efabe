//! Districts come from one list and are compared by id (issue 12, correctness 4): a
//! PSB whose region was typed `Futian` sees the systems of district `futian`, `福田区`
//! or `FUTIAN district`; unknown districts are refused with the nearest; values stored
//! before the list existed still match.

mod support;

use serde_json::json;
use support::*;

#[test]
fn districts_are_one_list_whatever_the_spelling() {
    let (_cam, url) = simcam("none");
    let site = Site::new(
        &[("lobby", &format!("{url}/lobby"))],
        "sync_interval = \"1s\"",
    );
    // Regions are checked and stored by id.
    site.cli(&[
        "org",
        "add",
        "--name",
        "Futian PSB",
        "--kind",
        "public_security",
        "--region",
        "Futian",
    ]);
    let out = site.vidimus(&[
        "org",
        "add",
        "--name",
        "Typo PSB",
        "--kind",
        "public_security",
        "--region",
        "Futain",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean futian?"), "{err}");
    let orgs: serde_json::Value =
        serde_json::from_slice(&site.vidimus(&["org", "list", "--json"]).stdout).unwrap();
    let futian = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Futian PSB")
        .unwrap();
    assert_eq!(futian["regions"], json!(["futian"]));
    assert!(!orgs.to_string().contains("Typo PSB"));
    add_user(&site, "boss", "administrator password", "admin");
    add_member(
        &site,
        "li",
        "li's password 1",
        "operator",
        Some("Futian PSB"),
        Some("PSB-1"),
    );
    let mut rec = site.serve();
    let boss = Client::login(site.http, "boss", "administrator password");
    let li = Client::login(site.http, "li", "li's password 1");

    // The list, with Chinese names, for the console.
    let list = li.call("GET", "/api/districts", None).json();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 10);
    assert!(
        list.iter()
            .any(|d| d["id"] == "futian" && d["zh"] == "福田区")
    );
    // The rulebook's place types, named in both languages, Art. 10's marked.
    let places = li.call("GET", "/api/places", None).json();
    let places = places.as_array().unwrap();
    assert!(
        places
            .iter()
            .any(|p| p["id"] == "bank_hall" && p["zh"] == "银行营业厅" && p["prohibited"] == false)
    );
    assert_eq!(
        places.iter().filter(|p| p["prohibited"] == true).count(),
        8,
        "the eight places Art. 10 names"
    );

    // A system's district, however written, is stored by id; unknown ones are refused.
    let sys = |id: &str, district: &str| {
        json!({"id": id, "name": id, "district": district, "site_category": "item_4",
            "owner": "o", "user": "u", "manager": "m"})
    };
    let r = boss.call(
        "POST",
        "/api/registry/systems",
        Some(sys("bank-1", "FUTIAN district")),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = boss.call(
        "POST",
        "/api/registry/systems",
        Some(sys("bank-2", "福田区")),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = boss.call(
        "POST",
        "/api/registry/systems",
        Some(sys("bank-3", "Atlantis")),
    );
    assert_eq!((r.status, r.code().as_str()), (400, "unknown_district"));
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nanshan")
    );
    let view = boss
        .call("GET", "/api/registry/systems/bank-1", None)
        .json();
    assert_eq!(view["system"]["district"], "futian", "{view}");

    // The PSB sees both, filtered by any spelling of its district.
    let ids = |path: &str| -> Vec<String> {
        let v = li.call("GET", path, None).json();
        let mut ids: Vec<String> = v
            .as_array()
            .unwrap_or_else(|| panic!("{path}: {v}"))
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let both = vec!["bank-1".to_owned(), "bank-2".to_owned()];
    assert_eq!(ids("/api/compliance/systems"), both);
    assert_eq!(ids("/api/compliance/systems?district=Futian"), both);
    assert_eq!(
        ids("/api/compliance/systems?district=%E7%A6%8F%E7%94%B0%E5%8C%BA"),
        both
    );
    assert_eq!(
        ids("/api/compliance/systems?district=nanshan"),
        Vec::<String>::new()
    );
    assert!(rec.terminate());

    // A region stored before the list (as typed) still matches.
    site.sql(
        "UPDATE organisation SET regions = '[\"Futian\"]' WHERE name = 'Futian PSB'",
        &[],
    );
    let mut rec = site.serve();
    let li = Client::login(site.http, "li", "li's password 1");
    let v = li.call("GET", "/api/compliance/systems", None).json();
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
    assert!(rec.terminate());
}

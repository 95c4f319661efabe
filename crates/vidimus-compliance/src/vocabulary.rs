//! Closed vocabularies: the rulebook's place types (`[[place]]`, the only values a
//! camera's `location_type` may take) and the nearest known word for a misspelt one.
//!
//! Art. 10 prohibits installation "in places and areas that might reveal citizens'
//! privacy such as hotel guest rooms, ..."; a free-text place type would let "guest
//! room" or "toilet" pass as permitted. So every place type is a rulebook entry with
//! English and Chinese labels, those Art. 10 covers are marked `prohibited` with their
//! basis, and anything else is refused with a suggestion:
//!
//! ```toml
//! [[place]]
//! id = "hotel_guest_room"
//! en = "hotel guest room"
//! zh = "酒店客房"
//! prohibited = true
//! basis = "named in Art. 10"
//! suggest_for = ["guest room", "hotel room"]
//! ```
//!
//! Suggestions ([`nearest`]) compare words, not characters first: "guest_room" shares
//! two words with `hotel_guest_room` and none with `restroom`, though fewer letters
//! separate it from the latter. Edit distance decides between equal overlaps, and
//! alone only for near misses (a typo in a rule id, `art19.move_plan`).

use serde::Deserialize;

/// A place type of the rulebook.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// The value `location_type` takes, e.g. `bank_hall`.
    pub id: String,
    /// English label.
    pub en: String,
    /// Chinese label.
    pub zh: String,
    /// Art. 10 prohibits installing a system there.
    #[serde(default)]
    pub prohibited: bool,
    /// Why it is prohibited: named in Art. 10, or read into its "such as".
    #[serde(default)]
    pub basis: Option<String>,
    /// Words people use for it: never accepted, only suggested from.
    #[serde(default)]
    pub suggest_for: Vec<String>,
}

impl Place {
    /// "hotel guest room / 酒店客房".
    pub fn label(&self) -> String {
        format!("{} / {}", self.en, self.zh)
    }
}

/// The name of the rulebook list of the places Art. 10 prohibits, for `in`/`not_in`.
pub const PROHIBITED_PLACES: &str = "prohibited_places";

/// The known word nearest to `input`, if any is near enough to suggest. Each candidate
/// is a word it may be recognised by (an id, a label, a synonym) and the id to suggest.
pub fn nearest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<&'a str> {
    let wanted = normalise(input);
    let wanted_words = words(&wanted);
    let mut best: Option<(usize, usize, &'a str)> = None; // (shared words, distance, id)
    for (word, id) in candidates {
        let word = normalise(word);
        if word == wanted {
            return Some(id);
        }
        let shared = words(&word)
            .iter()
            .filter(|w| wanted_words.contains(w))
            .count();
        let distance = edit_distance(&wanted, &word);
        let near = shared > 0 || distance <= (wanted.chars().count() / 4).max(2);
        let better = best.is_none_or(|(s, d, _)| shared > s || (shared == s && distance < d));
        if near && better {
            best = Some((shared, distance, id));
        }
    }
    best.map(|(_, _, id)| id)
}

/// Lower case, with spaces and hyphens as underscores: "Hotel guest-room" is
/// `hotel_guest_room`.
fn normalise(s: &str) -> String {
    s.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

fn words(s: &str) -> Vec<&str> {
    s.split(['_', '.']).filter(|w| !w.is_empty()).collect()
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACES: &[(&str, &str)] = &[
        ("hotel_guest_room", "hotel_guest_room"),
        ("hotel guest room", "hotel_guest_room"),
        ("restroom", "restroom"),
        ("toilet", "restroom"),
        ("hotel_lobby", "hotel_lobby"),
        ("bank_hall", "bank_hall"),
    ];

    #[test]
    fn shared_words_beat_fewer_letters() {
        assert!(
            edit_distance("guest_room", "restroom")
                < edit_distance("guest_room", "hotel_guest_room")
        );
        assert_eq!(
            nearest("guest_room", PLACES.iter().copied()),
            Some("hotel_guest_room")
        );
    }

    #[test]
    fn labels_and_synonyms_are_recognised() {
        assert_eq!(
            nearest("Hotel guest room", PLACES.iter().copied()),
            Some("hotel_guest_room")
        );
        assert_eq!(nearest("toilet", PLACES.iter().copied()), Some("restroom"));
        assert_eq!(
            nearest("bank hal", PLACES.iter().copied()),
            Some("bank_hall")
        );
    }

    #[test]
    fn nothing_near_is_suggested_as_nothing() {
        assert_eq!(nearest("spaceship", PLACES.iter().copied()), None);
    }

    #[test]
    fn a_typo_in_a_rule_id_is_near() {
        let ids = [
            ("art19.move_plans", "art19.move_plans"),
            ("art19.move_record", "art19.move_record"),
        ];
        assert_eq!(nearest("art19.move_plan", ids), Some("art19.move_plans"));
    }
}

//! What the source kinds' config sections share: serde defaults and the mapping of numbered
//! senders (OpenSeeFace faces, Xsens characters) to performers.

use std::collections::BTreeMap;
use std::str::FromStr;

/// `#[serde(default = "crate::config_section::yes")]`: a switch that is on unless turned off.
pub(crate) fn yes() -> bool {
    true
}

/// Numbered senders to performers, sorted by number: `{ "0" = "alice", "1" = "bob" }`, or,
/// without a map, `performer` alone as number 0. `what` names the sender in errors ("OpenSeeFace
/// face", "Xsens character").
pub(crate) fn numbered_performers<N: FromStr + Ord + Copy + Default>(
    map: &BTreeMap<String, String>,
    performer: &Option<String>,
    what: &str,
    port: u16,
) -> Result<Vec<(N, String)>, String> {
    if map.is_empty() {
        let performer = performer.clone().ok_or_else(|| {
            format!("{what}s on port {port}: name a performer, or map {what}s to performers")
        })?;
        return Ok(vec![(N::default(), performer)]);
    }
    let mut numbered = map
        .iter()
        .map(|(id, performer)| {
            id.trim()
                .parse::<N>()
                .map(|id| (id, performer.clone()))
                .map_err(|_| format!("{what} id {id:?} is not a number in range"))
        })
        .collect::<Result<Vec<_>, String>>()?;
    numbered.sort_by_key(|(id, _)| *id);
    Ok(numbered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_senders_map_to_performers_by_number() {
        let map: BTreeMap<String, String> =
            [("1".into(), "bob".into()), (" 0".into(), "alice".into())].into();
        let got: Vec<(u8, String)> = numbered_performers(&map, &None, "face", 1).unwrap();
        assert_eq!(got, [(0, "alice".to_string()), (1, "bob".to_string())]);
        let alone: Vec<(i32, String)> =
            numbered_performers(&BTreeMap::new(), &Some("p".into()), "face", 1).unwrap();
        assert_eq!(alone, [(0, "p".to_string())]);
        assert!(numbered_performers::<u8>(&BTreeMap::new(), &None, "face", 1).is_err());
        let bad: BTreeMap<String, String> = [("300".into(), "x".into())].into();
        assert!(numbered_performers::<u8>(&bad, &None, "Xsens character", 1).is_err());
    }
}

//! "Did you mean": how far apart two names are, for the suggestions
//! `check` makes for a missing file (`stages/validate/hints.rs`) and
//! `--explain` for an unknown path (`pipeline/explain.rs`). One distance
//! for both; each caller bounds it by its own named rule, since a name in
//! a folder listing and a whole path differ in how much of them a typo
//! touches.

/// Edit distance between two names, ignoring case: insertions, deletions,
/// substitutions and swaps of neighbours (optimal string alignment). A
/// difference of case alone costs nothing, so it is preferred to any edit.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // Names longer than this are not compared (no page has them); saying
    // "far" keeps the cost bounded for hostile input.
    if a.len().max(b.len()) > 512 {
        return usize::MAX;
    }
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut v = (d[(i - 1) * width + j] + 1)
                    .min(d[i * width + j - 1] + 1)
                    .min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    v = v.min(d[(i - 2) * width + j - 2] + 1);
                }
                v
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits_and_ignores_case() {
        assert_eq!(edit_distance("Leg", "Leg"), 0);
        assert_eq!(edit_distance("Leg", "leg"), 0);
        assert_eq!(edit_distance("Lge", "Leg"), 1, "a swap is one edit");
        assert_eq!(edit_distance("Leg", "Legs"), 1);
        assert_eq!(edit_distance("Arm", "Leg"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(
            edit_distance("Shoulder-ScapularPartDeltoid-", "Shoulder-ScapularDeltoid-"),
            4
        );
        assert_eq!(edit_distance("é", "É"), 0);
    }
}

//! Finds the line of a field in scenario text, for error messages: from a byte offset (parser
//! spans) or, best effort, from a field path such as `services[3].depends_on[0]` (semantic errors,
//! which serde reports without spans). Handles the layout our scenario files use: `[section]`,
//! `[[array.of.tables]]` headers and `key = value` lines.

/// 1-based line of a byte offset in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// One step of a field path: a key with an optional array index.
fn split_path(path: &str) -> Vec<(&str, Option<usize>)> {
    path.split('.')
        .filter(|s| !s.is_empty())
        .map(|seg| match seg.find('[') {
            Some(i) => {
                let index = seg[i + 1..].trim_end_matches(']').parse().ok();
                (&seg[..i], index)
            }
            None => (seg, None),
        })
        .collect()
}

/// Best-effort 1-based line of the field at `path` in `text`; `None` if it cannot be found (for
/// instance a missing optional field).
pub fn line_of_path(text: &str, path: &str) -> Option<usize> {
    let steps = split_path(path);
    if steps.is_empty() {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    // Find the deepest table header matching a prefix of the path: `[a]`, `[[a]]` (nth), `[a.b]`...
    let mut start = 0usize; // first line of the current table body
    let mut table = String::new();
    let mut consumed = 0usize;
    for (depth, (key, index)) in steps.iter().enumerate() {
        let name = if table.is_empty() {
            key.to_string()
        } else {
            format!("{table}.{key}")
        };
        let found = match index {
            Some(n) => nth_header(&lines, start, &format!("[[{name}]]"), *n),
            None => nth_header(&lines, start, &format!("[{name}]"), 0),
        };
        match found {
            Some(l) => {
                start = l + 1;
                table = name;
                consumed = depth + 1;
            }
            None => break,
        }
    }
    if consumed == steps.len() {
        return Some(start); // the header line itself (start is header index + 1 = 1-based line)
    }
    // The rest is a key inside the current table, before the next header.
    let (key, _) = steps[consumed];
    let mut i = start;
    while i < lines.len() {
        let trimmed = lines[i].trim_start();
        if trimmed.starts_with('[') && consumed > 0 {
            break;
        }
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(i + 1);
        }
        i += 1;
    }
    if consumed > 0 { Some(start) } else { None }
}

/// Index of the `n`th (0-based) line equal to `header` at or after `from`, stopping at a header
/// that closes the parent table.
fn nth_header(lines: &[&str], from: usize, header: &str, n: usize) -> Option<usize> {
    let mut seen = 0usize;
    for (i, line) in lines.iter().enumerate().skip(from) {
        if line.trim() == header {
            if seen == n {
                return Some(i);
            }
            seen += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[scenario]\nname = \"x\"\nhorizon = \"1h\"\n\n[[services]]\nname = \"a\"\n\n[[services]]\nname = \"b\"\ndepends_on = [\"c\"]\n\n[services.slo]\nerror_ratio = 2.0\n";

    #[test]
    fn finds_keys_in_sections_and_arrays_of_tables() {
        assert_eq!(line_of_path(TEXT, "scenario.horizon"), Some(3));
        assert_eq!(line_of_path(TEXT, "services[1].depends_on[0]"), Some(10));
        assert_eq!(line_of_path(TEXT, "services[1].name"), Some(9));
        assert_eq!(line_of_path(TEXT, "services[1].slo.error_ratio"), Some(13));
        assert_eq!(line_of_offset(TEXT, 0), 1);
    }
}

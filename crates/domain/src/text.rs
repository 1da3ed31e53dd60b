//! Free text that reaches storage: trimmed, bounded, and free of control characters (a NUL byte
//! is refused by PostgreSQL and has no place in a title anyway).

/// A required line of text: at most `max` characters, not blank (stored trimmed), no control
/// characters.
pub fn line(value: &str, max: usize) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() || value.chars().count() > max {
        return Err(format!("must be 1 to {max} characters and not blank"));
    }
    no_controls(v, false)?;
    Ok(v.to_string())
}

/// Optional longer text: at most `max` characters; line breaks and tabs are allowed, other
/// control characters are not. Blank is `None`.
pub fn paragraph(value: &str, max: usize) -> Result<Option<String>, String> {
    if value.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    no_controls(value, true)?;
    let v = value.trim();
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// Refuses control characters (Unicode category Cc), except `\n`, `\r` and `\t` when `multiline`.
pub fn no_controls(value: &str, multiline: bool) -> Result<(), String> {
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    match value.chars().find(|c| c.is_control() && !allowed(*c)) {
        Some(c) => Err(format!("must not contain control characters (found U+{:04X})", c as u32)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(line("  Plush Pepe ", 20).unwrap(), "Plush Pepe");
        assert!(line("", 20).is_err());
        assert!(line("   ", 20).is_err());
        assert!(line("abc", 2).is_err());
        assert!(line(" ab", 2).is_err(), "the length is the length sent");
        assert!(line("a\0b", 20).unwrap_err().contains("U+0000"));
        assert!(line("a\nb", 20).is_err());
        assert!(line("a\u{85}b", 20).is_err(), "C1 controls too");
        assert_eq!(line("Пепе 🐸", 20).unwrap(), "Пепе 🐸", "any script, emoji");
    }

    #[test]
    fn paragraphs_keep_line_breaks_but_nothing_else() {
        assert_eq!(paragraph("one\ntwo\tthree", 50).unwrap().as_deref(), Some("one\ntwo\tthree"));
        assert_eq!(paragraph("  ", 50).unwrap(), None);
        assert!(paragraph("a\0", 50).is_err());
        assert!(paragraph(&"x".repeat(51), 50).is_err());
    }

    #[test]
    fn a_line_of_exactly_the_maximum_length_is_accepted() {
        assert_eq!(line("ab", 2).unwrap(), "ab");
        assert_eq!(line("ab ", 3).unwrap(), "ab");
        assert_eq!(line("пп", 2).unwrap(), "пп", "characters are counted, not bytes");
        assert_eq!(line("abc", 2).unwrap_err(), "must be 1 to 2 characters and not blank");
        assert_eq!(line(" ", 2).unwrap_err(), "must be 1 to 2 characters and not blank");
    }

    #[test]
    fn a_paragraph_of_exactly_the_maximum_length_is_accepted() {
        assert_eq!(paragraph(&"x".repeat(50), 50).unwrap(), Some("x".repeat(50)));
        assert_eq!(paragraph("ёё", 2).unwrap().as_deref(), Some("ёё"), "characters are counted, not bytes");
        assert_eq!(paragraph("abc", 2).unwrap_err(), "must be at most 2 characters");
        assert_eq!(paragraph("", 2).unwrap(), None);
        assert_eq!(paragraph("  a \n", 10).unwrap().as_deref(), Some("a"), "stored trimmed");
    }

    #[test]
    fn line_breaks_and_tabs_are_allowed_only_in_multiline_text() {
        for c in ['\n', '\r', '\t'] {
            let s = format!("a{c}b");
            assert_eq!(no_controls(&s, true), Ok(()));
            assert!(no_controls(&s, false).is_err(), "{c:?}");
        }
        assert_eq!(no_controls("a\u{7}b", true).unwrap_err(), "must not contain control characters (found U+0007)");
        assert_eq!(no_controls("a\u{7f}", false).unwrap_err(), "must not contain control characters (found U+007F)");
        assert_eq!(no_controls("plain text, ünïcode 🐸", false), Ok(()));
        assert_eq!(no_controls("plain text", true), Ok(()));
    }

    proptest! {
        #[test]
        fn what_passes_has_no_control_character(s in "\\PC*|.*") {
            if let Ok(v) = line(&s, 1000) {
                prop_assert!(!v.chars().any(char::is_control));
            }
        }
    }
}

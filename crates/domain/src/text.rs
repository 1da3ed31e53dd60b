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

    proptest! {
        #[test]
        fn what_passes_has_no_control_character(s in "\\PC*|.*") {
            if let Ok(v) = line(&s, 1000) {
                prop_assert!(!v.chars().any(char::is_control));
            }
        }
    }
}

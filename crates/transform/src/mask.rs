//! Masking of personal data for sellers who want the sheet without it: names keep their first
//! character, phones lose their middle group, addresses keep the first two words (city and
//! district), zip codes their first three digits.
//!
//! Masking works on characters, not bytes, so Korean text is never cut inside a character.

use ordersync_core::columns::{Field, MaskKind};

/// `홍길동` → `홍**`; a one-character name becomes `*`.
pub fn name(value: &str) -> String {
    let mut chars = value.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count();
            if rest == 0 {
                "*".to_owned()
            } else {
                let mut out = String::with_capacity(value.len());
                out.push(first);
                out.extend(std::iter::repeat_n('*', rest));
                out
            }
        }
    }
}

/// `010-1234-5678` → `010-****-5678`; `01012345678` → `010****5678`; other shapes keep only
/// their last four characters.
pub fn phone(value: &str) -> String {
    let value = value.trim();
    let groups: Vec<&str> = value.split('-').collect();
    if groups.len() == 3 && groups.iter().all(|g| !g.is_empty()) {
        return format!(
            "{}-{}-{}",
            groups[0],
            "*".repeat(groups[1].chars().count()),
            groups[2]
        );
    }
    let chars: Vec<char> = value.chars().collect();
    if chars.len() >= 10 && chars.iter().all(char::is_ascii_digit) {
        let middle = chars.len() - 7;
        let mut out: String = chars[..3].iter().collect();
        out.extend(std::iter::repeat_n('*', middle));
        out.extend(&chars[chars.len() - 4..]);
        return out;
    }
    let keep = chars.len().min(4);
    let mut out: String = std::iter::repeat_n('*', chars.len() - keep).collect();
    out.extend(&chars[chars.len() - keep..]);
    out
}

/// `서울특별시 강남구 테헤란로 152 12층` → `서울특별시 강남구 ***`.
pub fn address(value: &str) -> String {
    let words: Vec<&str> = value.split_whitespace().collect();
    if words.len() <= 2 {
        return if words.is_empty() {
            String::new()
        } else {
            "***".to_owned()
        };
    }
    format!("{} {} ***", words[0], words[1])
}

/// `06236` → `062**`.
pub fn zip(value: &str) -> String {
    let chars: Vec<char> = value.trim().chars().collect();
    let keep = chars.len().min(3);
    let mut out: String = chars[..keep].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - keep));
    out
}

/// Masks `value` of `field` when the request asked to mask that field's kind.
pub fn apply(field: Field, value: String, masks: &[MaskKind]) -> String {
    match field.personal() {
        Some(kind) if masks.contains(&kind) => match field {
            Field::ZipCode => zip(&value),
            _ => match kind {
                MaskKind::Name => name(&value),
                MaskKind::Phone => phone(&value),
                MaskKind::Address => address(&value),
            },
        },
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_the_documented_shapes() {
        assert_eq!(name("홍길동"), "홍**");
        assert_eq!(name("김"), "*");
        assert_eq!(name(""), "");
        assert_eq!(phone("010-1234-5678"), "010-****-5678");
        assert_eq!(phone("02-123-4567"), "02-***-4567");
        assert_eq!(phone("01012345678"), "010****5678");
        assert_eq!(phone("+82 10 1234 5678"), "************5678");
        assert_eq!(
            address("서울특별시 강남구 테헤란로 152 12층"),
            "서울특별시 강남구 ***"
        );
        assert_eq!(address("세종시"), "***");
        assert_eq!(zip("06236"), "062**");
    }

    #[test]
    fn only_requested_kinds_are_masked() {
        let masks = [MaskKind::Phone];
        assert_eq!(
            apply(Field::ReceiverTel, "010-1111-2222".into(), &masks),
            "010-****-2222"
        );
        assert_eq!(
            apply(Field::ReceiverName, "이수진".into(), &masks),
            "이수진"
        );
        assert_eq!(
            apply(Field::ProductName, "010-1111-2222".into(), &masks),
            "010-1111-2222"
        );
    }
}

//! `client_secret_sign`: base64 of bcrypt(`{client_id}_{timestamp}`) with the client secret as
//! the salt (reference §1). The client secret is itself a bcrypt salt string, `$2a$NN$` + 22
//! characters; the hash keeps the `$2a$` prefix, as NAVER's Python sample (`bcrypt.hashpw`) does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Why a signature cannot be made. Never includes the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error(
        "the NAVER client secret is not a bcrypt salt (expected `$2a$NN$` followed by 22 characters)"
    )]
    BadSecret,
}

/// bcrypt's own base64 alphabet (not RFC 4648's order).
const BCRYPT_ALPHABET: &[u8; 64] =
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Decodes bcrypt's 22-character salt to its 16 bytes (the last character's low bits are
/// ignored, exactly like bcrypt itself).
fn decode_salt(salt: &str) -> Result<[u8; 16], SignError> {
    let mut bits: u128 = 0;
    let mut nbits = 0u32;
    let mut out = [0u8; 16];
    let mut filled = 0;
    for c in salt.bytes() {
        let v = BCRYPT_ALPHABET
            .iter()
            .position(|&a| a == c)
            .ok_or(SignError::BadSecret)? as u128;
        bits = (bits << 6) | v;
        nbits += 6;
        while nbits >= 8 && filled < 16 {
            nbits -= 8;
            out[filled] = (bits >> nbits) as u8;
            filled += 1;
            bits &= (1u128 << nbits) - 1;
        }
    }
    if filled == 16 {
        Ok(out)
    } else {
        Err(SignError::BadSecret)
    }
}

/// Computes `client_secret_sign` for `client_id` at `timestamp_ms`.
pub fn client_secret_sign(
    client_id: &str,
    client_secret: &str,
    timestamp_ms: i64,
) -> Result<String, SignError> {
    let rest = client_secret
        .strip_prefix("$2a$")
        .ok_or(SignError::BadSecret)?;
    let (cost, salt) = rest.split_once('$').ok_or(SignError::BadSecret)?;
    if cost.len() != 2 || salt.len() != 22 {
        return Err(SignError::BadSecret);
    }
    let cost: u32 = cost.parse().map_err(|_| SignError::BadSecret)?;
    let salt = decode_salt(salt)?;
    let password = format!("{client_id}_{timestamp_ms}");
    let hashed = bcrypt::hash_with_salt(password, cost, salt).map_err(|_| SignError::BadSecret)?;
    let hashed = hashed.format_for_version(bcrypt::Version::TwoA);
    Ok(STANDARD.encode(hashed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official test vector (reference §1).
    #[test]
    fn official_vector() {
        let sign = client_secret_sign(
            "aaaabbbbcccc",
            "$2a$10$abcdefghijklmnopqrstuv",
            1643961623299,
        )
        .unwrap();
        assert_eq!(
            sign,
            "JDJhJDEwJGFiY2RlZmdoaWprbG1ub3BxcnN0dXVCVldZSk42T0VPdEx1OFY0cDQxa2IuTnpVaUEzbmsy"
        );
        let decoded = String::from_utf8(STANDARD.decode(&sign).unwrap()).unwrap();
        assert_eq!(
            decoded,
            "$2a$10$abcdefghijklmnopqrstuuBVWYJN6OEOtLu8V4p41kb.NzUiA3nk2"
        );
        assert_eq!(sign.len(), 80);
    }

    #[test]
    fn bad_secrets_are_refused_without_echoing_them() {
        for bad in [
            "",
            "secret",
            "$2b$10$abcdefghijklmnopqrstuv",
            "$2a$10$short",
            "$2a$xx$abcdefghijklmnopqrstuv",
            "$2a$10$abcdefghijklmnopqrst!v",
        ] {
            let err = client_secret_sign("id", bad, 1).unwrap_err();
            assert_eq!(err, SignError::BadSecret);
            assert!(!err.to_string().contains("abcdefghijklmnop"));
        }
    }
}

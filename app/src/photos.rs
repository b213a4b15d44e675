//! Photos attached to case steps: accepted only when their bytes are really a JPEG or PNG
//! image (the name and the browser's declared type are ignored), and size-capped.
use crate::error::FieldErrorKind;

/// Largest photo accepted.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Most photos per step.
pub const MAX_PER_STEP: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    pub mime: &'static str,
    pub width: i64,
    pub height: i64,
    pub bytes: Vec<u8>,
}

/// Checks that `bytes` is a complete JPEG or PNG: the signature, a parsable header with
/// non-zero dimensions, and the format's end marker (a truncated upload is refused).
pub fn sniff(bytes: Vec<u8>) -> Result<Photo, FieldErrorKind> {
    if bytes.len() > MAX_BYTES {
        return Err(FieldErrorKind::PhotoTooLarge);
    }
    let mime = match imagesize::image_type(&bytes) {
        Ok(imagesize::ImageType::Jpeg) => "image/jpeg",
        Ok(imagesize::ImageType::Png) => "image/png",
        _ => return Err(FieldErrorKind::BadPhoto),
    };
    let complete = match mime {
        // End of image marker, allowing trailing padding some cameras add.
        "image/jpeg" => {
            let trimmed = bytes.iter().rposition(|b| *b != 0).map(|i| &bytes[..=i]);
            trimmed.is_some_and(|t| t.ends_with(&[0xFF, 0xD9]))
        }
        // The IEND chunk: length 0, type, CRC.
        _ => bytes.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]),
    };
    let size = imagesize::blob_size(&bytes).map_err(|_| FieldErrorKind::BadPhoto)?;
    if !complete || size.width == 0 || size.height == 0 {
        return Err(FieldErrorKind::BadPhoto);
    }
    Ok(Photo {
        mime,
        width: size.width as i64,
        height: size.height as i64,
        bytes,
    })
}

/// A valid 1×1 PNG, for tests and demo data.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_images_only() {
        let p = sniff(TINY_PNG.to_vec()).unwrap();
        assert_eq!((p.mime, p.width, p.height), ("image/png", 1, 1));
        // A text file named .png, a truncated PNG, an empty upload.
        assert_eq!(
            sniff(b"hello, not a png".to_vec()),
            Err(FieldErrorKind::BadPhoto)
        );
        assert_eq!(
            sniff(TINY_PNG[..40].to_vec()),
            Err(FieldErrorKind::BadPhoto)
        );
        assert_eq!(sniff(Vec::new()), Err(FieldErrorKind::BadPhoto));
        // GIF is a real image but not accepted.
        assert_eq!(
            sniff(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec()),
            Err(FieldErrorKind::BadPhoto)
        );
        let mut big = TINY_PNG.to_vec();
        big.resize(MAX_BYTES + 1, 0);
        assert_eq!(sniff(big), Err(FieldErrorKind::PhotoTooLarge));
    }

    #[test]
    fn jpeg_needs_its_end_marker() {
        // Minimal baseline JPEG header: SOI, SOF0 with 2×3 pixels, then EOI.
        let mut j = vec![
            0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x03, 0x00, 0x02, 0x01, 0x01, 0x11,
            0x00,
        ];
        j.extend_from_slice(&[0xFF, 0xD9]);
        let p = sniff(j.clone()).unwrap();
        assert_eq!((p.mime, p.width, p.height), ("image/jpeg", 2, 3));
        j.truncate(j.len() - 2);
        assert_eq!(sniff(j), Err(FieldErrorKind::BadPhoto));
    }
}

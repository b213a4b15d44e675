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

/// The image without what it says beyond its pixels (camera EXIF with GPS position and time,
/// XMP, IPTC, comments, PNG text and time chunks), for showing it publicly. Colour
/// information (JFIF, ICC profile, Adobe marker; PNG gamma, chromaticity, sRGB, ICC,
/// transparency, palette) is kept. None when the structure cannot be walked: then the photo
/// is not shown rather than shown with what it may carry.
pub fn without_metadata(mime: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    match mime {
        "image/jpeg" => jpeg_without_metadata(bytes),
        "image/png" => png_without_metadata(bytes),
        _ => None,
    }
}

fn jpeg_without_metadata(b: &[u8]) -> Option<Vec<u8>> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = vec![0xFF, 0xD8];
    let mut i = 2;
    loop {
        // Fill bytes (0xFF) may stand before a marker.
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if *b.get(i)? != 0xFF {
            return None;
        }
        let marker = *b.get(i + 1)?;
        match marker {
            // Start of scan: the compressed data and the end follow; copied as they are.
            0xDA => {
                out.extend_from_slice(&b[i..]);
                return Some(out);
            }
            0xD9 => {
                out.extend_from_slice(&[0xFF, 0xD9]);
                return Some(out);
            }
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => {
                out.extend_from_slice(&b[i..i + 2]);
                i += 2;
            }
            _ => {
                let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
                let end = i.checked_add(2 + len)?;
                if len < 2 || end > b.len() {
                    return None;
                }
                // APP1 (EXIF, XMP), APP13 (IPTC), the other application segments and
                // comments go; APP0 (JFIF), APP2 (ICC profile) and APP14 (Adobe colour
                // transform) stay.
                let drop = matches!(marker, 0xE1 | 0xE3..=0xED | 0xEF | 0xFE);
                if !drop {
                    out.extend_from_slice(&b[i..end]);
                }
                i = end;
            }
        }
    }
}

fn png_without_metadata(b: &[u8]) -> Option<Vec<u8>> {
    const SIG: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    const KEEP: [&[u8; 4]; 12] = [
        b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
        b"pHYs", b"bKGD",
    ];
    if !b.starts_with(&SIG) {
        return None;
    }
    let mut out = SIG.to_vec();
    let mut i = 8;
    while i < b.len() {
        let len = u32::from_be_bytes(b.get(i..i + 4)?.try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        let kind = &b[i + 4..i + 8];
        if KEEP.iter().any(|k| &k[..] == kind) {
            out.extend_from_slice(&b[i..end]);
        }
        if kind == b"IEND" {
            return Some(out);
        }
        i = end;
    }
    None
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
    fn metadata_is_removed_for_publishing() {
        // A PNG with a text chunk and an eXIf chunk between its header and its data.
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut png = TINY_PNG[..33].to_vec();
        png.extend(chunk(b"tEXt", b"Comment\0home address"));
        png.extend(chunk(b"eXIf", b"MM\0*GPS 37.85 112.56"));
        png.extend_from_slice(&TINY_PNG[33..]);
        assert!(sniff(png.clone()).is_ok());
        let clean = without_metadata("image/png", &png).unwrap();
        assert_eq!(clean, TINY_PNG);
        // A JPEG with EXIF (APP1) and a comment; JFIF (APP0) and the ICC profile (APP2) stay.
        let seg = |m: u8, data: &[u8]| {
            let mut v = vec![0xFF, m];
            v.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
            v.extend_from_slice(data);
            v
        };
        let mut jpg = vec![0xFF, 0xD8];
        jpg.extend(seg(0xE0, b"JFIF\0\x01\x01"));
        jpg.extend(seg(0xE1, b"Exif\0\0GPSLatitude 37.85"));
        jpg.extend(seg(0xE2, b"ICC_PROFILE\0"));
        jpg.extend(seg(0xFE, b"taken at home"));
        let frame = [
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x03, 0x00, 0x02, 0x01, 0x01, 0x11, 0x00,
        ];
        jpg.extend_from_slice(&frame);
        jpg.extend(seg(0xDA, &[0x01, 0x01, 0x00, 0x00, 0x3F, 0x00]));
        jpg.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
        let clean = without_metadata("image/jpeg", &jpg).unwrap();
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("GPS") && !text.contains("home"), "{text}");
        assert!(text.contains("JFIF") && text.contains("ICC_PROFILE"));
        assert!(clean.ends_with(&[0x12, 0x34, 0xFF, 0xD9]));
        assert_eq!(clean.len(), jpg.len() - 4 - 23 - 4 - 13);
        // Broken structure: not shown.
        assert_eq!(without_metadata("image/jpeg", &jpg[..7]), None);
        assert_eq!(without_metadata("image/png", &TINY_PNG[..40]), None);
        assert_eq!(without_metadata("image/gif", b"GIF89a"), None);
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

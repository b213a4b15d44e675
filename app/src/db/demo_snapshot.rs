//! Stylised camera snapshots for demo alerts: a street scene (sky, buildings, road with lane
//! marks) and the detected object in a yellow detection box, coloured by alert type. Small
//! real PNGs, so thumbnails, the incident page and escalated cases show what a snapshot is.

const W: usize = 160;
const H: usize = 90;

fn fill(img: &mut [u8], x0: usize, y0: usize, x1: usize, y1: usize, c: [u8; 3]) {
    for y in y0.min(H)..y1.min(H) {
        for x in x0.min(W)..x1.min(W) {
            let i = (y * W + x) * 3;
            img[i..i + 3].copy_from_slice(&c);
        }
    }
}

fn outline(img: &mut [u8], x0: usize, y0: usize, x1: usize, y1: usize, c: [u8; 3]) {
    fill(img, x0, y0, x1, y0 + 2, c);
    fill(img, x0, y1 - 2, x1, y1, c);
    fill(img, x0, y0, x0 + 2, y1, c);
    fill(img, x1 - 2, y0, x1, y1, c);
}

/// A PNG for alert type `kind` (its index among the demo types); `variant` moves the object.
pub fn png(kind: usize, variant: usize) -> Vec<u8> {
    let mut img = vec![0u8; W * H * 3];
    fill(&mut img, 0, 0, W, 36, [142, 178, 204]);
    fill(&mut img, 0, 36, W, H, [96, 104, 112]);
    for (i, x) in [8usize, 46, 100, 130].iter().enumerate() {
        let top = 10 + (i * 7 + variant * 3) % 14;
        fill(
            &mut img,
            *x,
            top,
            x + 24,
            36,
            [120 + (i as u8) * 12, 84, 64],
        );
    }
    for k in 0..8 {
        fill(&mut img, 6 + k * 20, 62, 16 + k * 20, 64, [236, 236, 236]);
    }
    let colour = [
        [40, 90, 200],  // illegal parking: a car
        [230, 150, 40], // street vending: a stall
        [70, 140, 60],  // garbage overflow
        [150, 110, 80], // road obstruction
        [210, 80, 140], // crowding
        [220, 50, 30],  // smoke or fire
        [120, 60, 170], // intrusion
    ][kind % 7];
    let x = 20 + (variant * 37) % 100;
    let (w, h) = if kind == 0 { (30, 14) } else { (18, 20) };
    let y = 58 - h / 2;
    fill(&mut img, x, y, x + w, y + h, colour);
    if kind == 5 {
        fill(&mut img, x + 3, y - 12, x + w - 3, y, [90, 90, 96]);
    }
    outline(
        &mut img,
        x - 5,
        y - 15,
        x + w + 5,
        y + h + 5,
        [250, 215, 40],
    );
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, W as u32, H as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        if let Ok(mut w) = enc.write_header() {
            let _ = w.write_image_data(&img);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn snapshots_are_complete_pngs_the_ingest_accepts() {
        for kind in 0..7 {
            let p = super::png(kind, 2);
            let photo = crate::photos::sniff(p).expect("a complete PNG");
            assert_eq!((photo.width, photo.height), (160, 90));
            assert!(photo.bytes.len() < 4096, "small: {}", photo.bytes.len());
        }
    }
}

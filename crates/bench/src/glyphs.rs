//! A plotters drawing backend that renders text itself, with the 8x8 bitmap glyphs of the
//! `font8x8` crate scaled to the requested size, and forwards everything else to an inner
//! backend. Charts then need no system font (plotters is built without its font features).

use plotters::prelude::DrawingBackend;
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};

/// Pixels per glyph side before scaling.
const CELL: i32 = 8;

/// Wraps `B`, drawing text with bitmap glyphs.
pub struct GlyphBackend<B> {
    inner: B,
}

impl<B: DrawingBackend> GlyphBackend<B> {
    pub fn new(inner: B) -> GlyphBackend<B> {
        GlyphBackend { inner }
    }
}

/// Integer scale of the 8x8 cell for a font of `size` (plotters' font size is about the
/// line height in pixels).
pub fn scale_for(size: f64) -> i32 {
    ((size / 10.0).round() as i32).max(1)
}

/// Rows of the glyph for `c` (bit 0 is the leftmost pixel); `?` outside ASCII.
pub fn glyph(c: char) -> [u8; 8] {
    let i = if c.is_ascii() {
        c as usize
    } else {
        '?' as usize
    };
    font8x8::legacy::BASIC_LEGACY[i]
}

/// Width and height of `text` at `scale`.
pub fn text_size(text: &str, scale: i32) -> (i32, i32) {
    (text.chars().count() as i32 * CELL * scale, CELL * scale)
}

impl<B: DrawingBackend> DrawingBackend for GlyphBackend<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let scale = scale_for(style.size());
        let (w, h) = text_size(text, scale);
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0,
            HPos::Center => -w / 2,
            HPos::Right => -w,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0,
            VPos::Center => -h / 2,
            VPos::Bottom => -h,
        };
        let transform = style.transform();
        let (width, height) = self.get_size();
        for (i, c) in text.chars().enumerate() {
            let rows = glyph(c);
            let x0 = i as i32 * CELL * scale;
            for (row, bits) in rows.iter().enumerate() {
                for col in 0..CELL {
                    if bits & (1 << col) == 0 {
                        continue;
                    }
                    for sy in 0..scale {
                        for sx in 0..scale {
                            let x = x0 + col * scale + sx + dx;
                            let y = row as i32 * scale + sy + dy;
                            let (x, y) = transform.transform(x, y);
                            let (x, y) = (pos.0 + x, pos.1 + y);
                            if x >= 0 && y >= 0 && x < width as i32 && y < height as i32 {
                                self.inner.draw_pixel((x, y), color)?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let (w, h) = text_size(text, scale_for(style.size()));
        Ok((w as u32, h as u32))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    #[test]
    fn text_is_drawn_into_the_bitmap() {
        let (w, h) = (80u32, 20u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let backend = GlyphBackend::new(BitMapBackend::with_buffer(&mut buf, (w, h)));
            let root = backend.into_drawing_area();
            let style = TextStyle::from(("sans-serif", 10).into_font()).color(&BLACK);
            root.draw_text("I", &style, (0, 0)).unwrap();
            root.present().unwrap();
        }
        let dark = |x: u32, y: u32| buf[((y * w + x) * 3) as usize] < 128;
        // 'I' in font8x8: rows 0..=6 have pixels at columns 2..=3 (middle bar) at scale 1.
        let glyph_rows = glyph('I');
        for (row, bits) in glyph_rows.iter().enumerate() {
            for col in 0..8u32 {
                assert_eq!(
                    dark(col, row as u32),
                    bits & (1 << col) != 0,
                    "pixel ({col},{row})"
                );
            }
        }
        // Nothing to the right of the glyph.
        assert!((9..w).all(|x| (0..h).all(|y| !dark(x, y))));
    }

    #[test]
    fn sizes_scale_and_anchor() {
        assert_eq!(scale_for(10.0), 1);
        assert_eq!(scale_for(20.0), 2);
        assert_eq!(scale_for(3.0), 1);
        assert_eq!(text_size("abc", 2), (48, 16));
        assert_eq!(glyph('é'), glyph('?'));
        assert_ne!(glyph('A'), glyph('B'));

        let (w, h) = (100u32, 40u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        {
            let backend = GlyphBackend::new(BitMapBackend::with_buffer(&mut buf, (w, h)));
            let root = backend.into_drawing_area();
            let style = TextStyle::from(("sans-serif", 20).into_font())
                .color(&BLACK)
                .pos(plotters_backend::text_anchor::Pos::new(
                    HPos::Right,
                    VPos::Bottom,
                ));
            root.draw_text("MM", &style, (100, 40)).unwrap();
            assert_eq!(root.estimate_text_size("MM", &style).unwrap(), (32, 16));
        }
        let dark: Vec<(u32, u32)> = (0..w)
            .flat_map(|x| (0..h).map(move |y| (x, y)))
            .filter(|&(x, y)| buf[((y * w + x) * 3) as usize] < 128)
            .collect();
        assert!(!dark.is_empty());
        // Anchored bottom-right at the corner: everything within the last 32x16 pixels.
        assert!(dark.iter().all(|&(x, y)| x >= 68 && y >= 24), "{dark:?}");
    }
}

//! A PNG chart of server memory and CPU against the number of viewers, one line per
//! server and mode, with the performance targets marked.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::glyphs::GlyphBackend;
use crate::report::{self, Report};

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("no report has server measurements to draw")]
    Empty,
    #[error("drawing: {0}")]
    Draw(String),
    #[error("writing the PNG: {0}")]
    Png(#[from] png::EncodingError),
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One line: a server and mode, points `(viewers, RSS MB, CPU %)` by viewers.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// Groups reports with server measurements by label, protocol and mode.
pub fn series(reports: &[Report]) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in reports {
        let Some(u) = r.server else {
            continue;
        };
        let name = format!(
            "{} {} {}",
            r.label.as_deref().unwrap_or("server"),
            r.protocol,
            r.mode
        );
        let point = (r.readers as f64, u.rss_mean_mb, u.cpu_percent);
        match out.iter_mut().find(|s| s.name == name) {
            Some(s) => s.points.push(point),
            None => out.push(Series {
                name,
                points: vec![point],
            }),
        }
    }
    for s in &mut out {
        s.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// The targets of the performance budget as `(viewers, RSS MB, CPU %)`.
const TARGETS: [(f64, f64, f64); 2] = [
    (
        report::TARGETS[0].0 as f64,
        report::TARGETS[0].1,
        report::TARGETS[0].2,
    ),
    (
        report::TARGETS[1].0 as f64,
        report::TARGETS[1].1,
        report::TARGETS[1].2,
    ),
];

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(23, 190, 207),
];

fn draw_err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    series: &[Series],
    value: fn(&(f64, f64, f64)) -> f64,
    target: fn(&(f64, f64, f64)) -> f64,
) -> Result<(), ChartError> {
    let max_x = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let max_y = series
        .iter()
        .flat_map(|s| s.points.iter().map(value))
        .chain(TARGETS.iter().filter(|t| t.0 <= max_x * 1.5).map(target))
        .fold(1.0, f64::max);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((0.8f64..max_x * 1.5).log_scale(), 0f64..max_y * 1.15)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("viewers")
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 10))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err)?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let points: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, value(p))).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(draw_err)?
            .label(s.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
            )
            .map_err(draw_err)?;
    }
    let targets: Vec<(f64, f64)> = TARGETS
        .iter()
        .filter(|t| t.0 <= max_x * 1.5)
        .map(|t| (t.0, target(t)))
        .collect();
    if !targets.is_empty() {
        chart
            .draw_series(
                targets
                    .iter()
                    .map(|&(x, y)| Cross::new((x, y), 6, RED.stroke_width(2))),
            )
            .map_err(draw_err)?
            .label("target")
            .legend(|(x, y)| Cross::new((x + 9, y), 5, RED.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 10))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err)?;
    Ok(())
}

/// Renders the chart as RGB pixels, `width` x `height`.
pub fn render(reports: &[Report], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let series = series(reports);
    if series.is_empty() {
        return Err(ChartError::Empty);
    }
    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let backend = GlyphBackend::new(BitMapBackend::with_buffer(&mut buf, (width, height)));
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let panels = root.split_evenly((1, 2));
        panel(&panels[0], "Server RSS (MB)", &series, |p| p.1, |t| t.1)?;
        panel(
            &panels[1],
            "Server CPU (% of one core)",
            &series,
            |p| p.2,
            |t| t.2,
        )?;
        root.present().map_err(draw_err)?;
    }
    Ok(buf)
}

/// Encodes RGB pixels as PNG.
pub fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(rgb)?;
    }
    Ok(out)
}

/// Draws the chart of `reports` into the PNG file `path`.
pub fn write_png(reports: &[Report], path: &Path) -> Result<(), ChartError> {
    let (width, height) = (1200, 480);
    let rgb = render(reports, width, height)?;
    let png = encode_png(&rgb, width, height)?;
    std::fs::write(path, png).map_err(|source| ChartError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Usage;

    fn report(label: &str, mode: &str, readers: usize, rss: f64, cpu: f64) -> Report {
        Report {
            label: Some(label.into()),
            protocol: "webrtc".into(),
            mode: mode.into(),
            readers,
            server: Some(Usage {
                rss_mean_mb: rss,
                rss_max_mb: rss,
                cpu_percent: cpu,
                samples: 3,
                window_s: 10.0,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn series_are_grouped_and_sorted() {
        let reports = vec![
            report("ferromtx", "nack", 64, 20.0, 4.0),
            report("ferromtx", "nack", 1, 10.0, 1.0),
            report("ferromtx", "no-nack", 64, 19.0, 3.0),
            Report::default(),
        ];
        let s = series(&reports);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "ferromtx webrtc nack");
        assert_eq!(s[0].points, vec![(1.0, 10.0, 1.0), (64.0, 20.0, 4.0)]);
        assert_eq!(s[1].points.len(), 1);
    }

    #[test]
    fn renders_a_png_with_lines_and_text() {
        let reports = vec![
            report("ferromtx", "nack", 1, 10.0, 1.0),
            report("ferromtx", "nack", 64, 20.0, 4.0),
            report("ferromtx", "nack", 1000, 90.0, 40.0),
        ];
        let (w, h) = (600, 300);
        let rgb = render(&reports, w, h).unwrap();
        let colored = rgb
            .chunks(3)
            .filter(|p| p[0] == COLORS[0].0 && p[1] == COLORS[0].1 && p[2] == COLORS[0].2)
            .count();
        assert!(colored > 100, "series pixels: {colored}");
        let black = rgb.chunks(3).filter(|p| p == &[0, 0, 0]).count();
        assert!(black > 500, "text and axes pixels: {black}");
        let png = encode_png(&rgb, w, h).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(matches!(render(&[], w, h), Err(ChartError::Empty)));
    }
}

//! One SVG chart per family: a horizontal bar per figure with a ratio, the target drawn as a
//! tick across its bar. Drawn with plotters' SVG backend alone (no fonts, no bitmap code; see
//! `docs/decisions/plotters.md`).

use std::path::Path;

use plotters::prelude::*;

use crate::figure::{Figure, Target};

const WIDTH: u32 = 900;
const ROW: u32 = 34;

/// Draws the ratios of `figures` (those that have one) into the SVG file `path`.
///
/// # Errors
/// The file cannot be written.
pub fn draw(path: &Path, title: &str, figures: &[&Figure]) -> Result<(), String> {
    let rows: Vec<&Figure> = figures.iter().copied().filter(|f| f.ratio.is_some()).collect();
    let n = rows.len().max(1);
    let top = rows
        .iter()
        .flat_map(|f| {
            let t = match f.target {
                Some(Target::AtLeast(t) | Target::AtMost(t)) => t,
                None => 0.0,
            };
            [f.ratio.unwrap_or(0.0), t]
        })
        .fold(1.0f64, f64::max)
        * 1.1;
    let height = 70 + ROW * n as u32;
    let err = |e: DrawingAreaErrorKind<std::io::Error>| format!("{}: {e}", path.display());
    {
        let root = SVGBackend::new(path, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("{title}: ratio to peer"), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(24)
            .y_label_area_size(0)
            .build_cartesian_2d(0f64..top, 0f64..n as f64)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_labels(8)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .draw()
            .map_err(err)?;
        for (i, f) in rows.iter().enumerate() {
            // The first figure at the top.
            let y = (n - 1 - i) as f64;
            let ratio = f.ratio.unwrap_or(0.0);
            let color = match f.met() {
                Some(true) => RGBColor(60, 150, 80),
                Some(false) => RGBColor(220, 120, 40),
                None => RGBColor(70, 110, 170),
            };
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y + 0.15), (ratio, y + 0.85)],
                    color.mix(0.75).filled(),
                )))
                .map_err(err)?;
            if let Some(Target::AtLeast(t) | Target::AtMost(t)) = f.target {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(t, y + 0.05), (t, y + 0.95)],
                        RED.stroke_width(2),
                    )))
                    .map_err(err)?;
            }
            let label = format!("{:.2}  {}", ratio, f.name);
            chart
                .draw_series(std::iter::once(Text::new(
                    label,
                    (top * 0.005, y + 0.62),
                    ("sans-serif", 12).into_font().color(&BLACK),
                )))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(())
}

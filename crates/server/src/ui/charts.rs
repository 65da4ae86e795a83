//! SVG charts drawn on the server, so pages need no plotting script and
//! print as they show: plate heat maps and dose–response plots.

use maud::{html, Markup};
use screening::{Format, Role};

/// Colour of a score on a diverging scale: blue below 0, white at 0, red
/// above, saturating at `±limit`.
fn diverging(score: f64, limit: f64) -> String {
    let t = (score / limit).clamp(-1.0, 1.0);
    let fade = |full: f64| (255.0 - (255.0 - full) * t.abs()).round() as u8;
    let (r, g, b) = if t >= 0.0 {
        (fade(200.0), fade(40.0), fade(40.0))
    } else {
        (fade(40.0), fade(90.0), fade(200.0))
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A plate as a grid of wells coloured by `scores` (well order), with
/// controls outlined and a tooltip per well (well, raw value, score).
pub fn heat_map(
    id: &str,
    format: Format,
    values: &[Option<f64>],
    scores: &[Option<f64>],
    roles: &[Role],
    limit: f64,
) -> Markup {
    let (rows, cols) = format.shape();
    let cell = match format {
        Format::W96 => 18.0,
        Format::W384 => 11.0,
        Format::W1536 => 6.0,
    };
    let (left, top) = (16.0, 12.0);
    let width = left + cell * cols as f64 + 2.0;
    let height = top + cell * rows as f64 + 2.0;
    let label_every = if format == Format::W1536 { 4 } else { 1 };
    html! {
        svg.heatmap #(id) xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } role="img" {
            @for c in (0..cols).filter(|c| c % label_every == 0) {
                text x=(left + cell * (c as f64 + 0.5)) y="9" font-size="7" text-anchor="middle" { (c + 1) }
            }
            @for r in (0..rows).filter(|r| r % label_every == 0) {
                text x="2" y=(top + cell * (r as f64 + 0.75)) font-size="7" {
                    (screening::Well::row_name(r))
                }
            }
            @for well in format.all() {
                @let k = well.index(format);
                @let fill = scores[k].map_or("#dddddd".to_owned(), |s| diverging(s, limit));
                @let stroke = match roles[k] { Role::Neutral => "#2a7", Role::Positive => "#a27", _ => "none" };
                rect x=(left + cell * well.col as f64) y=(top + cell * well.row as f64)
                    width=(cell - 1.0) height=(cell - 1.0) fill=(fill) stroke=(stroke) {
                    title {
                        (well) " "
                        (values[k].map_or("—".to_owned(), |v| format!("{v}")))
                        (scores[k].map_or(String::new(), |s| format!(" ({s:.2})")))
                    }
                }
            }
        }
    }
}

/// The legend of [`heat_map`]'s colours.
pub fn legend(limit: f64) -> Markup {
    let stops: Vec<f64> = (0..=8).map(|i| -limit + limit * i as f64 / 4.0).collect();
    html! {
        svg.legend xmlns="http://www.w3.org/2000/svg" width="200" height="26" viewBox="0 0 200 26" {
            @for (i, s) in stops.iter().enumerate() {
                rect x=(i as f64 * 22.0) y="0" width="22" height="10" fill=(diverging(*s, limit)) {}
                @if i % 2 == 0 {
                    text x=(i as f64 * 22.0 + 11.0) y="22" font-size="8" text-anchor="middle" { (format!("{s:.0}")) }
                }
            }
        }
    }
}

/// A concentration–response plot on a log axis: the points, the fitted
/// LL.4 curve and the IC50, when the fit gave one.
pub fn dose_plot(id: &str, points: &[(f64, f64)], fit: &serde_json::Value) -> Markup {
    let (w, h, left, bottom, pad) = (320.0, 200.0, 44.0, 28.0, 8.0);
    // Room on the right for the last decade's label.
    let right = 18.0;
    let logs: Vec<f64> = points.iter().map(|p| p.0.log10()).collect();
    let (mut x0, mut x1) = (
        logs.iter().copied().fold(f64::INFINITY, f64::min).floor(),
        logs.iter().copied().fold(f64::NEG_INFINITY, f64::max).ceil(),
    );
    if !(x0.is_finite() && x1.is_finite()) || x1 <= x0 {
        (x0, x1) = (-9.0, -4.0);
    }
    let param = |k: &str| fit.get(k).and_then(|v| v.as_f64());
    let curve = match (param("bottom"), param("top"), param("ic50"), param("hill")) {
        (Some(b), Some(t), Some(e), Some(s)) => Some((b, t, e, s)),
        _ => None,
    };
    let mut ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    if let Some((b, t, ..)) = curve {
        ys.extend([b, t]);
    }
    let (mut y0, mut y1) = (
        ys.iter().copied().fold(f64::INFINITY, f64::min),
        ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    if !(y0.is_finite() && y1.is_finite()) || y1 - y0 < 1e-9 {
        (y0, y1) = (y0.min(0.0), y1.max(100.0));
    }
    let margin = 0.08 * (y1 - y0);
    let (y0, y1) = (y0 - margin, y1 + margin);
    let sx = |lx: f64| left + (lx - x0) / (x1 - x0) * (w - left - right);
    let sy = |y: f64| pad + (y1 - y) / (y1 - y0) * (h - bottom - pad);
    let path = curve.map(|(b, t, e, s)| {
        let mut d = String::new();
        for i in 0..=80 {
            let lx = x0 + (x1 - x0) * i as f64 / 80.0;
            let y = b + (t - b) / (1.0 + (s * (lx * std::f64::consts::LN_10 - e.ln())).exp());
            d += &format!("{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, sx(lx), sy(y));
        }
        d
    });
    let decades: Vec<i32> = (x0 as i32..=x1 as i32).collect();
    html! {
        svg.doseplot #(id) xmlns="http://www.w3.org/2000/svg" width=(w) height=(h)
            viewBox={ "0 0 " (w) " " (h) } role="img" {
            line x1=(left) y1=(h - bottom) x2=(w - right) y2=(h - bottom) stroke="#555" {}
            line x1=(left) y1=(pad) x2=(left) y2=(h - bottom) stroke="#555" {}
            @for d in &decades {
                line x1=(sx(*d as f64)) y1=(h - bottom) x2=(sx(*d as f64)) y2=(h - bottom + 4.0) stroke="#555" {}
                text x=(sx(*d as f64)) y=(h - bottom + 14.0) font-size="9" text-anchor="middle" { "1e" (d) }
            }
            text x=((left + w) / 2.0) y=(h - 2.0) font-size="9" text-anchor="middle" { "M" }
            @for k in 0..=4 {
                @let y = y0 + (y1 - y0) * k as f64 / 4.0;
                text x=(left - 4.0) y=(sy(y) + 3.0) font-size="9" text-anchor="end" { (format!("{y:.0}")) }
            }
            @if let Some(d) = &path {
                path.fit d=(d) fill="none" stroke="#c33" stroke-width="1.5" {}
            }
            @if let Some((_, _, e, _)) = curve.filter(|c| c.2.log10() > x0 && c.2.log10() < x1) {
                line.ic50 x1=(sx(e.log10())) y1=(pad) x2=(sx(e.log10())) y2=(h - bottom)
                    stroke="#888" stroke-dasharray="3,3" {}
            }
            @for (x, y) in points {
                circle.point cx=(format!("{:.1}", sx(x.log10()))) cy=(format!("{:.1}", sy(*y))) r="3" fill="#235" {
                    title { (format!("{x:.2e} M: {y:.2}")) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_run_from_blue_through_white_to_red() {
        assert_eq!(diverging(0.0, 4.0), "#ffffff");
        assert_eq!(diverging(4.0, 4.0), "#c82828");
        assert_eq!(diverging(-9.0, 4.0), "#285ac8");
    }

    #[test]
    fn a_dose_plot_has_every_point_and_the_fitted_curve() {
        let points: Vec<(f64, f64)> =
            (0..8).map(|i| (1e-9 * 10f64.powi(i), 10.0 * i as f64)).collect();
        let fit = serde_json::json!({"bottom": 0.0, "top": 70.0, "ic50": 1e-6, "hill": -1.0});
        let svg = dose_plot("p", &points, &fit).into_string();
        assert_eq!(svg.matches("<circle").count(), 8);
        assert!(svg.contains("class=\"fit\"") && svg.contains("class=\"ic50\""));
        let unfitted = dose_plot("q", &points, &serde_json::json!({"error": "x"})).into_string();
        assert!(!unfitted.contains("class=\"fit\""));
    }

    #[test]
    fn a_heat_map_has_a_cell_per_well() {
        let f = Format::W384;
        let values = vec![Some(1.0); f.wells()];
        let roles = vec![Role::Sample; f.wells()];
        let svg = heat_map("h", f, &values, &values, &roles, 4.0).into_string();
        assert_eq!(svg.matches("<rect").count(), 384);
    }
}

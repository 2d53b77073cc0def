//! PNG figures: learning curves and activity snapshots (stork's `plot_activity_snapshot`, spec §6).
//!
//! Text is drawn with the embedded DejaVu Sans (assets/, Bitstream Vera license), so no system font
//! library is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use spikeflux_core::data::SpikeDataset;
use spikeflux_core::engine::{self, EngineOptions, Workspace};
use spikeflux_core::network::Network;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");
static REGISTER: Once = Once::new();

fn fonts() {
    REGISTER.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing the figure: {e:?}")
}

/// One epoch's numbers for the learning curves.
#[derive(Debug, Clone, Copy)]
pub struct CurvePoint {
    /// 1-based epoch.
    pub epoch: usize,
    /// Training loss and accuracy.
    pub train: (f64, f64),
    /// Validation loss and accuracy, if any.
    pub valid: Option<(f64, f64)>,
    /// Test loss and accuracy.
    pub test: (f64, f64),
}

/// Loss and accuracy against epoch (train, validation, test) as a two-panel PNG.
pub fn learning_curves(points: &[CurvePoint], title: &str, path: &Path) -> Result<()> {
    fonts();
    let root = BitMapBackend::new(path, (1200, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let panels = root.split_evenly((1, 2));
    let last = points.last().map_or(1, |p| p.epoch).max(2);
    let series = |f: &dyn Fn(&CurvePoint) -> Option<f64>| -> Vec<(f64, f64)> {
        points.iter().filter_map(|p| f(p).map(|v| (p.epoch as f64, v))).collect()
    };
    for (k, (panel, ylabel)) in panels.iter().zip(["loss (cross-entropy + regularizers)", "accuracy (%)"]).enumerate() {
        let get = |which: usize| {
            series(&move |p: &CurvePoint| {
                let v = match which {
                    0 => Some(p.train),
                    1 => p.valid,
                    _ => Some(p.test),
                }?;
                Some(if k == 0 { v.0 } else { 100.0 * v.1 })
            })
        };
        let all: Vec<f64> = (0..3).flat_map(|w| get(w).into_iter().map(|p| p.1)).collect();
        let (lo, hi) = all.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let (lo, hi) = if k == 1 { (0.0, 100.0) } else { (0.0, (hi * 1.05).max(lo + 1e-3)) };
        let mut c = ChartBuilder::on(panel)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(1f64..last as f64, lo..hi)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| if k == 1 { format!("{v:.0}") } else { format!("{v:.1}") })
            .y_desc(ylabel)
            .label_style(("sans-serif", 16))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(err)?;
        for (w, (name, color)) in [("train", BLUE), ("validation", GREEN), ("test", RED)].into_iter().enumerate() {
            let s = get(w);
            if s.is_empty() {
                continue;
            }
            c.draw_series(LineSeries::new(s, color.stroke_width(2)))
                .map_err(err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .position(if k == 0 { SeriesLabelPosition::UpperRight } else { SeriesLabelPosition::LowerRight })
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

const CLASS_COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Activity snapshot of the first `n` samples of `ds`: per sample (column), the readout traces (top;
/// the true class in its colour, the others grey), a spike raster per hidden layer (last layer
/// above) and the input raster (bottom, coloured by class). Time in ms.
pub fn activity_snapshot(net: &Network, ds: &SpikeDataset, n: usize, title: &str, path: &Path) -> Result<()> {
    fonts();
    let n = n.min(ds.len()).max(1);
    let t = ds.t_steps;
    let mut ws = Workspace::new(net, t, n);
    ws.load(ds, &(0..n).collect::<Vec<_>>());
    engine::forward(net, &EngineOptions::default(), &mut ws);
    let dt_ms = net.spec.dt * 1e3;
    let t_ms = t as f64 * dt_ms;
    let layers = net.plan.geoms.len();
    let rows = layers + 2;
    let width = 260 * n as u32 + 120;
    let height = 170 * rows as u32 + 60;
    let root = BitMapBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let grid = root.split_evenly((rows, n));
    let c_out = net.spec.n_out;
    for (idx, area) in grid.iter().enumerate() {
        let (row, col) = (idx / n, idx % n);
        let label = ds.labels[col];
        let color = CLASS_COLORS[label % CLASS_COLORS.len()];
        let first_col = col == 0;
        let bottom = row == rows - 1;
        let mut cb = ChartBuilder::on(area);
        cb.margin(6).x_label_area_size(if bottom { 40 } else { 8 }).y_label_area_size(if first_col { 70 } else { 8 });
        if row == 0 {
            // readout traces
            let mut lo = f32::INFINITY;
            let mut hi = f32::NEG_INFINITY;
            for v in (0..c_out).flat_map(|k| ws.readout_trace(col, k)) {
                lo = lo.min(v);
                hi = hi.max(v);
            }
            let pad = ((hi - lo) * 0.05).max(1e-3);
            let mut c = cb.caption(format!("sample {col}, class {label}"), ("sans-serif", 16)).build_cartesian_2d(0f64..t_ms, (lo - pad) as f64..(hi + pad) as f64).map_err(err)?;
            let mut mesh = c.configure_mesh();
            mesh.disable_mesh()
                .label_style(("sans-serif", 13))
                .axis_desc_style(("sans-serif", 14))
                .y_labels(5)
                .y_label_formatter(&|v| format!("{v:.1}"));
            if first_col {
                mesh.y_desc("readout V (θ = 1)");
            } else {
                mesh.y_labels(0);
            }
            mesh.x_labels(0).draw().map_err(err)?;
            for k in (0..c_out).filter(|&k| k != label).chain([label]) {
                let s: Vec<(f64, f64)> = ws.readout_trace(col, k).enumerate().map(|(ti, v)| (ti as f64 * dt_ms, v as f64)).collect();
                let style = if k == label { color.stroke_width(2) } else { RGBColor(170, 170, 170).stroke_width(1) };
                c.draw_series(LineSeries::new(s, style)).map_err(err)?;
            }
            continue;
        }
        // rasters: rows 1..=layers are hidden layers from the last down; the final row is the input
        let (units, pts, dot): (usize, Vec<(f64, f64)>, RGBColor) = if bottom {
            let ev = ds.events(col).map(|(s, u)| (s as f64 * dt_ms, u as f64)).collect();
            (ds.n_in, ev, color)
        } else {
            let l = layers - row;
            let pts = ws.spike_events(l, col).into_iter().map(|(ti, u)| (ti as f64 * dt_ms, u as f64)).collect();
            (net.plan.geoms[l].n(), pts, BLACK)
        };
        let mut c = cb.build_cartesian_2d(0f64..t_ms, 0f64..units as f64).map_err(err)?;
        let mut mesh = c.configure_mesh();
        mesh.disable_mesh()
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"));
        if first_col {
            mesh.y_desc(if bottom { "input unit".to_string() } else { format!("layer {} neuron", layers - row + 1) });
        } else {
            mesh.y_labels(0);
        }
        if bottom {
            mesh.x_desc("time (ms)");
        } else {
            mesh.x_labels(0);
        }
        mesh.draw().map_err(err)?;
        let r = if bottom && pts.len() < 2000 { 2 } else { 1 };
        c.draw_series(pts.into_iter().map(|p| Circle::new(p, r, dot.filled()))).map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn histogram(values: &[f32], bins: usize, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let mut h = vec![0usize; bins];
    let w = (hi - lo) / bins as f64;
    let mut n = 0usize;
    for &v in values {
        let b = ((v as f64 - lo) / w).floor();
        if b >= 0.0 && (b as usize) < bins {
            h[b as usize] += 1;
            n += 1;
        }
    }
    // density, so that it compares with a normal pdf
    h.iter().enumerate().map(|(i, &c)| (lo + (i as f64 + 0.5) * w, c as f64 / (n.max(1) as f64 * w))).collect()
}

fn gauss(x: f64, m: f64, s: f64) -> f64 {
    (-(x - m).powi(2) / (2.0 * s * s)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
}

/// A histogram panel: title, x-axis label, values, and normal curves `(label, mean, sd)`.
pub type HistPanel = (String, String, Vec<f32>, Vec<(String, f64, f64)>);

/// One panel per entry: a histogram (density) of the values with the normal curves.
pub fn histograms(
    panels: &[HistPanel],
    title: &str,
    path: &Path,
) -> Result<()> {
    fonts();
    let n = panels.len().max(1);
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let root = BitMapBackend::new(path, ((420 * cols as u32 + 40).max(900), 340 * rows as u32 + 50)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let areas = root.split_evenly((rows, cols));
    for ((name, xlabel, values, curves), area) in panels.iter().zip(areas.iter()) {
        let curves: Vec<(&str, f64, f64)> = curves.iter().map(|(l, m, s)| (l.as_str(), *m, *s)).collect();
        draw_hist(area, name, xlabel, values, &curves)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// (ξ, free-membrane values, with-reset values, theory mean, theory s.d.).
pub type XiHist = (f64, Vec<f32>, Vec<f32>, f64, f64);

/// The data of the paper's Fig. 1 panels (spec §4.1).
pub struct Fig1 {
    /// Input raster points (time in s, unit).
    pub raster: Vec<(f64, f64)>,
    /// Weights drawn for the ξ of the trace panel, and their (mean, s.d.).
    pub weights: (Vec<f32>, f64, f64),
    /// One neuron's free membrane over time (s, U), with the target μ_U.
    pub trace: (Vec<(f64, f64)>, f64),
    /// Per ξ: free and with-reset membrane histograms against the theory.
    pub hists: Vec<XiHist>,
}

/// Draws [`Fig1`] as a 3 × 3 grid: input raster, weight histogram, membrane trace; free-membrane
/// histograms against the Gaussian theory for each ξ; the same with reset.
pub fn fig1(f: &Fig1, title: &str, path: &Path) -> Result<()> {
    fonts();
    let root = BitMapBackend::new(path, (1350, 1000)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let cells = root.split_evenly((3, 3));
    let style = |m: &mut plotters::chart::MeshStyle<'_, '_, _, _, _>| {
        m.disable_mesh().label_style(("sans-serif", 13)).axis_desc_style(("sans-serif", 15));
    };
    // input raster
    let t_max = f.raster.iter().map(|p| p.0).fold(0.0, f64::max).max(1e-3);
    let u_max = f.raster.iter().map(|p| p.1).fold(0.0, f64::max) + 1.0;
    let mut c = ChartBuilder::on(&cells[0])
        .caption("input: Poisson spikes (first 100 of N)", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..t_max, 0.0..u_max)
        .map_err(err)?;
    let mut m = c.configure_mesh();
    style(&mut m);
    m.x_desc("time (s)").y_desc("input unit").draw().map_err(err)?;
    c.draw_series(f.raster.iter().map(|&p| Circle::new(p, 1, BLACK.filled()))).map_err(err)?;
    // weights and the trace reuse the histogram / line helpers inline
    let (w, wm, ws) = &f.weights;
    draw_hist(&cells[1], "weights (ξ = 2)", "weight", w, &[("N(μ_w, σ_w²)", *wm, *ws)])?;
    let (tr, mu) = &f.trace;
    let (lo, hi) = tr.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let t_end = tr.last().map_or(1.0, |p| p.0);
    let mut c = ChartBuilder::on(&cells[2])
        .caption("free membrane of one neuron (ξ = 2)", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..t_end, lo.min(-0.2)..hi.max(1.1))
        .map_err(err)?;
    let mut m = c.configure_mesh();
    style(&mut m);
    m.x_desc("time (s)").y_desc("U (θ = 1)").draw().map_err(err)?;
    c.draw_series(LineSeries::new(tr.clone(), BLUE.stroke_width(1))).map_err(err)?;
    c.draw_series(LineSeries::new(vec![(0.0, 1.0), (t_end, 1.0)], RED.stroke_width(2))).map_err(err)?.label("θ");
    c.draw_series(LineSeries::new(vec![(0.0, *mu), (t_end, *mu)], BLACK.stroke_width(1))).map_err(err)?;
    for (k, (xi, free, reset, m, s)) in f.hists.iter().enumerate() {
        draw_hist(&cells[3 + k], &format!("free membrane, ξ = {xi}"), "U (θ = 1)", free, &[("theory N(μ_U, σ_U²)", *m, *s)])?;
        draw_hist(&cells[6 + k], &format!("with reset, ξ = {xi}"), "U (θ = 1)", reset, &[("theory (free)", *m, *s)])?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn draw_hist<DB: DrawingBackend>(area: &DrawingArea<DB, plotters::coord::Shift>, name: &str, xlabel: &str, values: &[f32], curves: &[(&str, f64, f64)]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let mut sorted: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f32::total_cmp);
    if sorted.is_empty() {
        return Ok(());
    }
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize] as f64;
    let (mut lo, mut hi) = (q(0.001), q(0.999));
    for (_, m, s) in curves {
        lo = lo.min(m - 4.0 * s);
        hi = hi.max(m + 4.0 * s);
    }
    let h = histogram(&sorted, 60, lo, hi);
    let ymax = h.iter().map(|p| p.1).chain(curves.iter().map(|c| gauss(c.1, c.1, c.2))).fold(0.0, f64::max) * 1.1;
    let mut c = ChartBuilder::on(area)
        .caption(name, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(lo..hi, 0.0..ymax.max(1e-9))
        .map_err(err)?;
    c.configure_mesh()
        .disable_mesh()
        .x_desc(xlabel)
        .y_desc("density")
        .x_labels(6)
        .y_labels(5)
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(err)?;
    let w = (hi - lo) / 60.0;
    c.draw_series(h.iter().map(|&(x, y)| Rectangle::new([(x - w / 2.0, 0.0), (x + w / 2.0, y)], RGBColor(150, 170, 210).filled())))
        .map_err(err)?;
    for (k, (label, m, s)) in curves.iter().enumerate() {
        let color = [RED, BLACK, GREEN][k % 3];
        let pts: Vec<(f64, f64)> = (0..=200).map(|i| lo + (hi - lo) * i as f64 / 200.0).map(|x| (x, gauss(x, *m, *s))).collect();
        c.draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(err)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    if !curves.is_empty() {
        c.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// Test accuracy of a sweep over the last parameter (x axis; categorical positions), one line per
/// combination of the other parameters.
pub fn sweep_lines(x_label: &str, x_ticks: &[String], lines: &[(String, Vec<Option<f64>>)], title: &str, path: &Path) -> Result<()> {
    fonts();
    let root = BitMapBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(err)?;
    let n = x_ticks.len().max(1);
    let ticks = x_ticks.to_vec();
    let mut c = ChartBuilder::on(&root)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0.0f64..100.0)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc(x_label)
        .y_desc("test accuracy (%)")
        .x_labels(n)
        .x_label_formatter(&|v| {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < ticks.len() { ticks[i as usize].clone() } else { String::new() }
        })
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(err)?;
    for (k, (name, ys)) in lines.iter().enumerate() {
        let color = CLASS_COLORS[k % CLASS_COLORS.len()];
        let pts: Vec<(f64, f64)> = ys.iter().enumerate().filter_map(|(i, y)| y.map(|y| (i as f64, 100.0 * y))).collect();
        c.draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
            .map_err(err)?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        c.draw_series(pts.into_iter().map(|p| Circle::new(p, 4, color.filled()))).map_err(err)?;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::LowerLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Test accuracy over two parameters as a heatmap (rows: first, columns: second), values printed;
/// "no run" marks combinations that failed (e.g. an infeasible FD target; see sweep.jsonl).
pub fn sweep_heatmap(y_label: &str, y_ticks: &[String], x_label: &str, x_ticks: &[String], acc: &[Vec<Option<f64>>], title: &str, path: &Path) -> Result<()> {
    fonts();
    let root = BitMapBackend::new(path, (900, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 20)).map_err(err)?;
    let (nx, ny) = (x_ticks.len(), y_ticks.len());
    let (xt, yt) = (x_ticks.to_vec(), y_ticks.to_vec());
    let mut c = ChartBuilder::on(&root)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..nx as f64, 0f64..ny as f64)
        .map_err(err)?;
    c.configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_labels(nx * 2 + 1)
        .y_labels(ny * 2 + 1)
        .x_label_formatter(&|v| {
            let i = (v - 0.5).round();
            if (v - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < xt.len() { xt[i as usize].clone() } else { String::new() }
        })
        .y_label_formatter(&|v| {
            let i = (v - 0.5).round();
            if (v - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < yt.len() { yt[i as usize].clone() } else { String::new() }
        })
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(err)?;
    let vals: Vec<f64> = acc.iter().flatten().flatten().copied().collect();
    let (vmin, vmax) = vals.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let span = (vmax - vmin).max(1e-9);
    for (j, row) in acc.iter().enumerate() {
        for (i, v) in row.iter().enumerate() {
            let (fill, text) = match v {
                Some(a) => {
                    // colour spans the observed range: red (worst) to green (best)
                    let t = ((a - vmin) / span).clamp(0.0, 1.0);
                    (RGBColor((255.0 * (1.0 - t)) as u8, (200.0 * t + 40.0) as u8, (120.0 * t + 60.0) as u8), format!("{:.1}", 100.0 * a))
                }
                None => (RGBColor(220, 220, 220), "no run".into()),
            };
            c.draw_series(std::iter::once(Rectangle::new([(i as f64, j as f64), (i as f64 + 1.0, j as f64 + 1.0)], fill.filled())))
                .map_err(err)?;
            c.draw_series(std::iter::once(Text::new(text, (i as f64 + 0.35, j as f64 + 0.55), ("sans-serif", 16).into_font().color(&BLACK))))
                .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// A spike raster per panel: `(title, points (time in s, channel))`, time on x and channel on y
/// (0 = base, highest frequency, at the bottom), in a grid of up to 3 columns.
pub fn spike_rasters(panels: &[(String, Vec<(f64, f64)>)], n_channels: usize, title: &str, path: &Path) -> Result<()> {
    fonts();
    let n = panels.len().max(1);
    let cols = n.min(3);
    let rows = n.div_ceil(cols);
    let root = BitMapBackend::new(path, (420 * cols as u32 + 40, 340 * rows as u32 + 50)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 22)).map_err(err)?;
    let areas = root.split_evenly((rows, cols));
    for ((name, pts), area) in panels.iter().zip(areas.iter()) {
        let t_max = pts.iter().map(|p| p.0).fold(0.0, f64::max).max(1e-3);
        let mut c = ChartBuilder::on(area)
            .caption(name, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..t_max, 0.0..n_channels as f64)
            .map_err(err)?;
        c.configure_mesh()
            .disable_mesh()
            .x_desc("time (s)")
            .y_desc("channel (0 = base)")
            .x_labels(6)
            .y_labels(8)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 15))
            .draw()
            .map_err(err)?;
        c.draw_series(pts.iter().map(|&p| Circle::new(p, 1, BLACK.filled()))).map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// `frames` panels of an event recording: the events of each equal stretch of its duration
/// counted per pixel, ON in red and OFF in blue (brighter = more events, saturating at the 99th
/// percentile of the nonzero counts), each panel at most 320 pixels wide (the sensor scaled down).
pub fn event_frames(rec: &spikeflux_events::Recording, frames: usize, title: &str, path: &Path) -> Result<()> {
    fonts();
    let e = &rec.events;
    let (w, h) = rec.size();
    let (w, h) = (w.max(1) as usize, h.max(1) as usize);
    let scale = (320.0 / w as f64).min(1.0).min(240.0 / h as f64).max(1.0 / 16.0);
    let (pw, ph) = (((w as f64 * scale).ceil() as usize).max(1), ((h as f64 * scale).ceil() as usize).max(1));
    let frames = frames.max(1);
    let (t0, span) = (e.t.first().copied().unwrap_or(0), rec.duration_us().max(1));
    // counts[frame][polarity][pixel]
    let mut counts = vec![[vec![0u32; pw * ph], vec![0u32; pw * ph]]; frames];
    for i in 0..e.len() {
        let f = (((e.t[i] - t0) as f64 / span as f64 * frames as f64) as usize).min(frames - 1);
        let (x, y) = (((e.x[i] as f64 * scale) as usize).min(pw - 1), ((e.y[i] as f64 * scale) as usize).min(ph - 1));
        counts[f][e.p[i] as usize][y * pw + x] += 1;
    }
    let mut nonzero: Vec<u32> = counts.iter().flat_map(|c| c.iter().flatten()).copied().filter(|&c| c > 0).collect();
    nonzero.sort_unstable();
    let top = nonzero.get(nonzero.len() * 99 / 100).copied().unwrap_or(1).max(1) as f64;
    let cols = frames.min(4);
    let rows = frames.div_ceil(cols);
    let (cell_w, cell_h) = (pw as u32 + 20, ph as u32 + 40);
    let root = BitMapBackend::new(path, ((cell_w * cols as u32 + 20).max(640), cell_h * rows as u32 + 50)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let root = root.titled(title, ("sans-serif", 18)).map_err(err)?;
    let areas = root.split_evenly((rows, cols));
    for (f, area) in areas.iter().enumerate().take(frames) {
        let (a, b) = (t0 + span * f as i64 / frames as i64, t0 + span * (f as i64 + 1) / frames as i64);
        area.draw(&Text::new(format!("{:.3}–{:.3} s", (a - t0) as f64 * 1e-6, (b - t0) as f64 * 1e-6), (10, 4), ("sans-serif", 13))).map_err(err)?;
        for y in 0..ph {
            for x in 0..pw {
                let level = |c: u32| ((c as f64 / top).min(1.0) * 255.0) as u8;
                let (on, off) = (level(counts[f][1][y * pw + x]), level(counts[f][0][y * pw + x]));
                let color = RGBColor(255 - off, 255 - on.max(off), 255 - on);
                area.draw_pixel((10 + x as i32, 24 + y as i32), &color).map_err(err)?;
            }
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

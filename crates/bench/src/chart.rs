//! The SVG charts in BENCHMARKS.md, drawn with plotters: how peak memory and wall time grow
//! with the number of product orders, and the init time and memory of each binary beside the
//! floors. Text is left to the SVG viewer's fonts (plotters' SVG backend writes `<text>`).

use std::path::Path;

use plotters::prelude::*;

use crate::e2e::Run;
use crate::package::Binary;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];

/// Left: peak RSS of each function against product orders (log scale), with the 128 MB target.
/// Right: wall time and the rate-limit floor.
pub fn growth(runs: &[Run], path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (960, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(480);
    let max_x = runs.iter().map(|r| r.product_orders).max().unwrap_or(1) as f64 * 1.5;
    let min_x = runs.iter().map(|r| r.product_orders).min().unwrap_or(1) as f64 / 1.5;

    let mb = |kib: u64| kib as f64 / 1024.0;
    let mut chart = ChartBuilder::on(&left)
        .caption("Peak RSS per function (MB)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d((min_x..max_x).log_scale(), 0.0..140.0)?;
    chart
        .configure_mesh()
        .x_desc("product orders")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    type Peak = fn(&Run) -> u64;
    let series: [(&str, Peak); 3] = [
        ("import", |r| r.import_peak_kib),
        ("transform", |r| r.transform_peak_kib),
        ("insert", |r| r.insert_peak_kib),
    ];
    for (i, (name, peak)) in series.into_iter().enumerate() {
        let color = COLORS[i];
        chart
            .draw_series(LineSeries::new(
                runs.iter().map(|r| (r.product_orders as f64, mb(peak(r)))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(
            [(min_x, 128.0), (max_x, 128.0)],
            RED.stroke_width(1),
        ))?
        .label("target 128 MB")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let max_y = runs
        .iter()
        .map(|r| r.wall_s.max(r.floor_s))
        .fold(1.0, f64::max)
        * 1.2;
    let mut chart = ChartBuilder::on(&right)
        .caption("Wall time vs rate-limit floor (s)", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d((min_x..max_x).log_scale(), 0.0..max_y)?;
    chart
        .configure_mesh()
        .x_desc("product orders")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .draw()?;
    for (i, (name, value)) in [
        ("wall", (|r: &Run| r.wall_s) as fn(&Run) -> f64),
        ("floor", |r: &Run| r.floor_s),
    ]
    .into_iter()
    .enumerate()
    {
        let color = COLORS[i];
        chart
            .draw_series(LineSeries::new(
                runs.iter().map(|r| (r.product_orders as f64, value(r))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Init time (ms) and idle RSS (MB) of each binary, as horizontal bars.
pub fn init(binaries: &[Binary], path: &Path) -> Result<()> {
    let root = SVGBackend::new(path, (960, 300)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(480);
    let n = binaries.len();
    let names: Vec<String> = binaries.iter().map(|b| b.name.clone()).collect();
    for (area, caption, value, max) in [
        (
            &left,
            "Init: start → first /next (ms, median)",
            (|b: &Binary| b.init_median_ms) as fn(&Binary) -> f64,
            binaries
                .iter()
                .map(|b| b.init_median_ms)
                .fold(1.0, f64::max)
                * 1.3,
        ),
        (
            &right,
            "Idle RSS after init (MB)",
            |b: &Binary| b.idle_rss_kib as f64 / 1024.0,
            40.0,
        ),
    ] {
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(30)
            .y_label_area_size(100)
            .build_cartesian_2d(0.0..max, (0..n).into_segmented())?;
        let labels = names.clone();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_label_formatter(&move |v| match v {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .draw()?;
        chart.draw_series(binaries.iter().enumerate().map(|(i, b)| {
            let color = if b.name.starts_with("floor") {
                RGBColor(150, 150, 150)
            } else {
                COLORS[0]
            };
            Rectangle::new(
                [
                    (0.0, SegmentValue::Exact(i)),
                    (value(b), SegmentValue::Exact(i + 1)),
                ],
                color.filled(),
            )
        }))?;
    }
    root.present()?;
    Ok(())
}

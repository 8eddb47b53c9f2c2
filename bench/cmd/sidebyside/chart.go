package main

import (
	"fmt"
	"image/color"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The chart (results/latest.svg, made with gonum.org/v1/plot): the main
// table's speed-ups over chan, and the rtt latency percentiles. The README
// shows it; it is drawn from the rows written to latest.json, so the two
// always agree.

// chartScenarios are the table scenarios whose base is chan, in order.
var chartScenarios = []string{"single-thread", "spsc-single", "spsc-batch256", "mpsc2", "mpsc4", "mpsc2-batch256"}

// chartImpls are the impls the speed-up panel shows, with their colours.
var chartImpls = []struct {
	name  string
	color color.Color
}{
	{"spillring-c", color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}},
	{"spillring-go", color.RGBA{R: 0x6b, G: 0xae, B: 0xd6, A: 0xff}},
	{"xsync", color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
	{"c11-loop", color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}},
}

// chartLatency are the rtt pairs the latency panel shows: impl and wait.
var chartLatency = [][2]string{
	{"c11-loop", ""},
	{"spillring-c", "Spin"},
	{"spillring-c", "SpinYield(100)"},
	{"spillring-c", "default Adaptive(20µs)"},
	{"spillring-c", "Park"},
	{"xsync", ""},
	{"chan", ""},
}

// writeChart draws what results hold of the two panels into path; a panel
// whose section did not run is left out, and with neither nothing is
// written.
func writeChart(path string, results []result) error {
	var plots [][]*plot.Plot
	if p, err := speedupPlot(results); err != nil {
		return err
	} else if p != nil {
		plots = append(plots, []*plot.Plot{p})
	}
	if p, err := latencyPlot(results); err != nil {
		return err
	} else if p != nil {
		plots = append(plots, []*plot.Plot{p})
	}
	if len(plots) == 0 {
		return nil
	}
	w, h := 22*vg.Centimeter, vg.Length(len(plots))*11*vg.Centimeter
	img := vgsvg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Centimeter, PadTop: vg.Centimeter / 2, PadBottom: vg.Centimeter / 2}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		plots[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := img.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// find returns the row of (scenario, impl, wait), or nil.
func find(results []result, scenario, impl, wait string) *result {
	for i := range results {
		if r := &results[i]; r.Scenario == scenario && r.Impl == impl && r.Wait == wait {
			return r
		}
	}
	return nil
}

// speedupPlot: grouped bars, per table scenario, of each impl's speed-up
// over chan (median ns/item of chan over the impl's), or nil without the
// table's rows.
func speedupPlot(results []result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "speed-up over a Go channel (median ns/item, same run; higher is better)"
	p.Y.Label.Text = "x chan"
	p.Legend.Top = true
	p.Legend.Left = true
	width := vg.Points(11)
	any := false
	for k, im := range chartImpls {
		vals := make(plotter.Values, len(chartScenarios))
		for j, sc := range chartScenarios {
			base, row := find(results, sc, "chan", ""), find(results, sc, im.name, "")
			if base != nil && row != nil && row.NsPerItem > 0 {
				vals[j] = base.NsPerItem / row.NsPerItem
				any = true
			}
		}
		bars, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bars.Color = im.color
		bars.LineStyle.Width = 0
		bars.Offset = width * vg.Length(2*k-len(chartImpls)+1) / 2
		p.Add(bars)
		p.Legend.Add(im.name, bars)
	}
	if !any {
		return nil, nil
	}
	p.NominalX(chartScenarios...)
	p.Add(plotter.NewGrid())
	return p, nil
}

// latencyPlot: the rtt p50, p99 and p99.9 of each chartLatency pair, on a
// log scale (they span three orders of magnitude), or nil without the
// latency rows.
func latencyPlot(results []result) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "rtt: a ping-pong between two pinned threads, one item in flight (lower is better)"
	p.Y.Label.Text = "ns (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Top = true
	p.Legend.Left = true
	series := []struct {
		name  string
		get   func(*result) int64
		shape draw.GlyphDrawer
		color color.Color
	}{
		{"p50", func(r *result) int64 { return r.P50Ns }, draw.CircleGlyph{}, color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}},
		{"p99", func(r *result) int64 { return r.P99Ns }, draw.SquareGlyph{}, color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}},
		{"p99.9", func(r *result) int64 { return r.P999Ns }, draw.TriangleGlyph{}, color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}},
	}
	names := make([]string, len(chartLatency))
	for j, l := range chartLatency {
		names[j] = l[0]
		if l[1] != "" {
			names[j] += "\n" + l[1]
		}
	}
	any := false
	for k, s := range series {
		var pts plotter.XYs
		for j, l := range chartLatency {
			if row := find(results, "rtt", l[0], l[1]); row != nil && s.get(row) > 0 {
				pts = append(pts, plotter.XY{X: float64(j) + 0.15*float64(k-1), Y: float64(s.get(row))})
			}
		}
		if len(pts) == 0 {
			continue
		}
		any = true
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("chart: %w", err)
		}
		sc.GlyphStyle.Shape = s.shape
		sc.GlyphStyle.Color = s.color
		sc.GlyphStyle.Radius = vg.Points(3.5)
		p.Add(sc)
		p.Legend.Add(s.name, sc)
	}
	if !any {
		return nil, nil
	}
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	return p, nil
}

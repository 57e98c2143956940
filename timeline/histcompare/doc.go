// Package histcompare holds the benchmark and precision test that compare
// timeline.Histogram with HdrHistogram's Go port and DataDog's DDSketch for
// what gameday needs: per-window latency histograms recorded on the hot
// path, merged exactly across windows and load generators, and sent over
// the wire. It is a separate module so that the libraries it compares do
// not become dependencies of gameday itself: run it with
// `cd timeline/histcompare && go test -bench . -run Precision -v`.
package histcompare

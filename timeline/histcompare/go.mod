module github.com/gameday-dev/gameday/timeline/histcompare

go 1.26.8

require (
	github.com/DataDog/sketches-go v1.4.8
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/gameday-dev/gameday v0.0.0
)

require google.golang.org/protobuf v1.36.11 // indirect

replace github.com/gameday-dev/gameday => ../..

module github.com/spillring/spillring/bench

go 1.26.0

require (
	github.com/puzpuzpuz/xsync/v4 v4.5.0
	github.com/spillring/spillring v0.0.0-00010101000000-000000000000
	golang.org/x/sys v0.49.0
)

require (
	code.cloudfoundry.org/go-diodes v0.0.0-20231113191959-85adc333ee36
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/Workiva/go-datastructures v1.1.7
	github.com/panjf2000/ants/v2 v2.12.1
)

require golang.org/x/sync v0.11.0 // indirect

replace github.com/spillring/spillring => ../

module github.com/spillring/spillring/bench

go 1.26.0

require (
	github.com/puzpuzpuz/xsync/v4 v4.5.0
	github.com/spillring/spillring v0.0.0-00010101000000-000000000000
	golang.org/x/sys v0.49.0
)

require (
	github.com/Workiva/go-datastructures v1.1.7
	github.com/panjf2000/ants/v2 v2.12.1
)

require golang.org/x/sync v0.11.0 // indirect

replace github.com/spillring/spillring => ../

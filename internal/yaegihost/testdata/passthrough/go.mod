module example.com/passthrough

go 1.22

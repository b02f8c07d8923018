module github.com/paasd/paasd

go 1.26

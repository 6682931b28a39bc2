package config

import "os"

func defaultGetenv(name string) string { return os.Getenv(name) }

func defaultReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

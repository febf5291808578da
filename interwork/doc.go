// Package interwork is filled in by its own issue.
package interwork

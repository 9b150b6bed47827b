package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/dbmonctl/dbmonctl/internal/atomicfile"
	"github.com/dbmonctl/dbmonctl/specs"
)

type initOptions struct {
	path  string
	force bool
}

func newInitCmd(a *app) *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented config file holding every default",
		Long: `init writes a YAML config file that holds every setting of the embedded
default spec with its documentation. Edit the values you want to change and
delete the rest; pass the file to other commands with --config.

init never overwrites an existing file unless --force is given. With FILE
"-" it prints the file to standard output instead.`,
		Example: `  dbmonctl init                      # writes dbmonctl.yaml
  dbmonctl init deploy/dbmonctl.yaml
  dbmonctl init --force dbmonctl.yaml # replace an existing file
  dbmonctl init - | less              # read it without writing a file`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = "dbmonctl.yaml"
			if len(args) == 1 {
				o.path = args[0]
			}
			return runInit(a, o)
		},
	}
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite FILE if it exists")
	return cmd
}

func runInit(a *app, o initOptions) error {
	data, err := specs.DefaultYAML()
	if err != nil {
		return err
	}
	if o.path == "-" {
		_, err := a.stdout.Write(data)
		return err
	}
	if !o.force {
		if _, err := os.Stat(o.path); err == nil {
			return fmt.Errorf("%s already exists; use --force to overwrite it", o.path)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", o.path, err)
		}
	}
	if err := atomicfile.WriteFile(o.path, data, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s\n", o.path)
	return nil
}

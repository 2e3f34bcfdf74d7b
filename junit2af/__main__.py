from junit2af.cli import main

main(prog_name="junit2af")

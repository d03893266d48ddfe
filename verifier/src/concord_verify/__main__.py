"""`python -m concord_verify BUNDLE.json --rpc URL`: the same as `concord-verify`."""

from concord_verify.cli import run

run()

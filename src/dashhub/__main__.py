"""python -m dashhub: the same as the dashhub command."""

from dashhub.cli import main

main()

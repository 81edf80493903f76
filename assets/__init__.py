"""Static files served by Dash under /assets/ (CSS, fonts, clientside JS); shipped in the package."""

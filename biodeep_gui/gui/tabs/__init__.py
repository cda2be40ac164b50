"""One widget per tab of the main window; each emits request signals and shows what the window hands back."""

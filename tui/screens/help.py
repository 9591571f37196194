"""Every key of every screen in one place (`?` or F1)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = """\
[b]Everywhere[/b]
  ?, F1      this help            q, ctrl+q  quit (asks while a run trains)
  escape     back to the previous screen

[b]Training[/b]
  p  pause      r  resume        s  save a checkpoint now (paused: at once)
  b  save a copy marked as best candidate (best.pt itself is automatic)
  a save continues exactly from its batch (c in the browser)
  l  log / linear y (losses, MAE)
  + or =  smoother curves    -  less smooth (0, 0.6 ... 0.99: a debiased
     EMA over the whole series, then averaged to the chart's width)
  status: epoch/planned epochs and the budget; a bell, a toast and a
  desktop notification when the run ends, fails or stalls (--notify)
  n  new run (form)              c  checkpoint browser
  status, last line: CPU % of the run (100 per core)/all cores, RSS,
  threads; on CUDA also GPU memory allocated/reserved and utilisation

[b]Checkpoints[/b]
  up/down  choose                o  cycle sort column (again: reverse)
  enter    inference screen      e  evaluate on the current data
  c        continue training from it (asks the total epochs): last.pt
           in its folder, any other checkpoint in a new -branch folder;
           refused while another process trains that run
  d        delete (asks first)   R  reload the list
  space    mark / unmark a row   m  compare the marked runs (2 or more)
  f        report: history.png/.csv, inference.png into the run folder

[b]Compare[/b] (from the browser, m)
  curves per run (A, B, ...), best epochs (best values in green),
  settings that differ (values unlike run A's in yellow); escape goes back

[b]Inference[/b]
  left/right  previous / next image    g  grid / single image
  v  view: all, only wrong, worst errors first
  h  ASCII / half-block images (half-blocks need colour)
"""


class HelpScreen(ModalScreen[None]):
    """Keys are listed by hand so the text reads well; tests check each binding appears."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss_help", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(KEYS)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

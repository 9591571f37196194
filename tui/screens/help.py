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
  ctrl+p     command palette: every action of the screen, by name

[b]Training[/b]
  p  pause      r  resume        s  save a checkpoint now (paused: at once)
  b  save a copy marked as best candidate (best.pt itself is automatic)
  a save continues exactly from its batch (c in the browser)
  status: epoch/planned epochs and the budget; a bell, a toast and a
  desktop notification when the run ends, fails or stalls (--notify)
  n  new run (form)              c  checkpoint browser
  status, last line: CPU % of the run (100 per core)/all cores, RSS,
  threads; on CUDA also GPU memory allocated/reserved and utilisation

[b]Charts[/b] (training and compare screens)
  l  log / linear y (losses, MAE, lr)
  + or =  smoother curves    -  less smooth (0, 0.6 ... 0.99: a debiased
     EMA over the whole series, then averaged to the chart's width)
  x  x axis: epoch, step, minutes of training (lr: epoch or step)
  o  outliers out of the y range (the first epoch; per batch: 2 % tails)
  tab  next chart (its top line turns bold)
  z or enter  the chosen chart full-screen, and back (escape too)
  ] / \\[  next / previous chart, full-screen while one is
  lr: the one-cycle schedule as planned, and the part already trained

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
  curves per run (A, B, ...) steered with the chart keys above, best
  epochs (best values in green), settings that differ (values unlike
  run A's in yellow); escape goes back

[b]Inference[/b]
  left/right  previous / next image    g  grid / single image
  v  view: all, only wrong, worst errors first
  h  ASCII / half-block images (half-blocks need colour)
  under an image, sumnet's reading: each digit's share of the sum,
  e.g. 7.0 + [3.1] + 0.2 + 4.9 = 15.2 → 15; in a wrong answer the
  digit farthest from the truth is bracketed ("read the 5 as a 3")
  o  open your own image (PNG, JPEG ...; photos are inverted and
     scaled to the digits' size); arrows, g, v or escape go back
"""


class HelpScreen(ModalScreen[None]):
    """Keys are listed by hand so the text reads well; tests check each binding appears."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss_help", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="help"):
            yield Static(KEYS)

    def action_dismiss_help(self) -> None:
        self.dismiss(None)

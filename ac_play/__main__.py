from ac_play.entry import run

run()

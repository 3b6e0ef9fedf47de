from xmlai.cli import app

app(prog_name="xmlai")

"""What each command prints from its report task's results: text for people, data for JSON.

Pure: results per host in, `(text, data)` out; `quiet` is `-q`. The cli hands these to
`run.execute.execute_plan` as the command's report.
"""

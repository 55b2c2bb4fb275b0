"""The quiz's subcommands of ``bptt``, named here so ``bptt --help`` lists them without importing them."""

COMMANDS = {
    "grade": ("quiz.cmd_grade:grade_cmd", "Grade one answer against an expected one (number, expression, matrix...)."),
    "quiz": ("quiz.cmd_quiz:quiz_cmd", "Practise interview questions with instant feedback and spaced review."),
    "stats": ("quiz.cmd_quiz:stats_cmd", "Your quiz progress: answered, correct, due for review, by topic."),
    "handout": ("quiz.cmd_handout:handout_cmd", "Study handout per cell: derivations, figures, exercises (pdf/tex/md/html)."),
    "sheets": ("quiz.cmd_sheets:sheets_cmd", "Per-student exam sheets (PDF) from a roster, with an answer key."),
    "mark": ("quiz.cmd_sheets:mark_cmd", "Mark students' responses against a sheets answer key."),
    "export": ("quiz.cmd_export:export_cmd", "Export questions to Moodle XML, GIFT or an Anki deck."),
}

"""The manifests a scenario deploys: every release rendered with its real chart (`helm
template`), plus the objects the modules create directly, and the checks judged on them.
"""

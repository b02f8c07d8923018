print("not a static site")

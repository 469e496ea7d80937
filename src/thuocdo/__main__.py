from thuocdo.cli import main

main()

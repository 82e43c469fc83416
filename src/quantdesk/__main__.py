from quantdesk.cli.app import main

main()
